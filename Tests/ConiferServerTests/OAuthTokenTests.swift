import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct OAuthTokenTests {
    @Test func clientCredentialsInJSONAndFormBodies() async throws {
        try await TestServer.run { _, client in
            let json = try await client.call(
                .post, "/oauth/token", key: nil,
                body: #"{"grant_type":"client_credentials","client_id":"test-owner","client_secret":"test-owner-secret-0123456789abcdef"}"#
            )
            #expect(json.status == 200)
            #expect(json.json["token_type"] as? String == "Bearer")
            #expect(json.json["expires_in"] as? Int == 86_400)
            let form = try await client.call(
                .post, "/oauth/token", key: nil, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: nil
            )
            #expect(form.status == 400)
            let formBody = "grant_type=client_credentials&client_id=test-owner&client_secret=test-owner-secret-0123456789abcdef"
            let viaForm = try await client.execute(
                uri: "/oauth/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: formBody)
            )
            #expect(viaForm.status == .ok)
        }
    }

    @Test func badCredentialsGetOAuthErrors() async throws {
        try await TestServer.run { _, client in
            for body in [
                #"{"grant_type":"client_credentials","client_id":"test-owner","client_secret":"wrong-secret-0123456789abcdef"}"#,
                #"{"grant_type":"client_credentials","client_id":"nobody","client_secret":"test-owner-secret-0123456789abcdef"}"#,
                #"{"grant_type":"client_credentials"}"#,
            ] {
                let reply = try await client.call(.post, "/oauth/token", key: nil, body: body)
                #expect(reply.status == 401, "\(body)")
                #expect(reply.json["error"] as? String == "access_denied")
                #expect(reply.json["error_description"] as? String == "Unauthorized")
            }
            let grant = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"implicit"}"#)
            #expect(grant.status == 400)
            #expect(grant.json["error"] as? String == "unsupported_grant_type")
            let audience = try await client.call(
                .post, "/oauth/token", key: nil,
                body: #"{"grant_type":"client_credentials","client_id":"test-owner","client_secret":"test-owner-secret-0123456789abcdef","audience":"https://evil.example/"}"#
            )
            #expect(audience.status == 403)
        }
    }

    @Test func forgedExpiredAndForeignTokensAreRejected() async throws {
        try await TestServer.run { server, client in
            let good = try await client.token()
            #expect(try await client.admin(.get, "/admin/projects", token: good).status == 200)
            let account = try #require(server.bootstrapServiceAccount).account.id
            // Signed by another key, expired, unsigned (alg none), HMAC-signed: all 401.
            let foreign = try await TokenService.inMemory().issue(for: .serviceAccount(account), generation: 1)
            let expired = try await server.tokens.issue(for: .serviceAccount(account), generation: 1, now: Date().addingTimeInterval(-2 * TokenService.lifetime))
            let wrongAudience = try await server.tokens.issue(for: .serviceAccount(account), generation: 1, audience: "https://elsewhere.example/")
            let staleGeneration = try await server.tokens.issue(for: .serviceAccount(account), generation: 0)
            let parts = good.split(separator: ".")
            let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\(parts[1])."
            let hmac = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\(parts[1]).\(parts[2])"
            let tampered = "\(parts[0]).\(parts[1])x.\(parts[2])"
            for token in [foreign, expired, wrongAudience, staleGeneration, unsigned, hmac, tampered, "garbage", ""] {
                let reply = try await client.admin(.get, "/admin/projects", token: token)
                #expect(reply.status == 401, "\(token.prefix(20))")
                #expect(reply.errorCode == "UNAUTHENTICATED")
            }
            let none = try await client.call(.get, "/admin/projects", key: nil)
            #expect(none.status == 401)
        }
    }

    @Test func rotationAndDeletionRevokeAtOnce() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let created = try await client.admin(
                .post, "/admin/service-accounts", token: owner,
                body: #"{"name":"robot","role_bindings":[{"resource_type":"organization","role":"OrgOwner"}]}"#
            )
            #expect(created.status == 201)
            let account = try #require(created.json["service_account"] as? [String: Any])
            let id = try #require(account["id"] as? String)
            let clientID = try #require(account["client_id"] as? String)
            let secret = try #require(created.json["client_secret"] as? String)
            let robot = try await client.token(clientID: clientID, secret: secret)
            #expect(try await client.admin(.get, "/admin/projects", token: robot).status == 200)

            let rotated = try await client.admin(.post, "/admin/service-accounts/\(id)/rotate-secret", token: owner)
            #expect(rotated.status == 200)
            let newSecret = try #require(rotated.json["client_secret"] as? String)
            #expect(try await client.admin(.get, "/admin/projects", token: robot).status == 401)
            let oldSecret = try await client.call(
                .post, "/oauth/token", key: nil,
                body: #"{"grant_type":"client_credentials","client_id":"\#(clientID)","client_secret":"\#(secret)"}"#
            )
            #expect(oldSecret.status == 401)
            let fresh = try await client.token(clientID: clientID, secret: newSecret)
            #expect(try await client.admin(.get, "/admin/projects", token: fresh).status == 200)

            #expect(try await client.admin(.delete, "/admin/service-accounts/\(id)", token: owner).status == 202)
            #expect(try await client.admin(.get, "/admin/projects", token: fresh).status == 401)
        }
    }
}
