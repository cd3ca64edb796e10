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

@Suite struct AdminProjectsAndKeysTests {
    @Test func projectAndKeyLifecycle() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let created = try await client.admin(.post, "/admin/projects", token: token, body: #"{"name":"analytics","max_pods":2,"force_encryption_with_cmek":false}"#)
            #expect(created.status == 200)
            let project = try #require(created.json["id"] as? String)
            #expect(created.json["organization_id"] as? String == (try #require(server.bootstrap)).organizationID.lowercasedString)
            #expect(created.json["max_pods"] as? Int == 2)
            let listed = try await client.admin(.get, "/admin/projects", token: token)
            #expect((listed.json["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == ["analytics", "default"])
            let renamed = try await client.admin(.patch, "/admin/projects/\(project)", token: token, body: #"{"name":"analytics-2"}"#)
            #expect(renamed.json["name"] as? String == "analytics-2")

            let key = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: token, body: #"{"name":"ci","roles":["ControlPlaneViewer","DataPlaneEditor"]}"#)
            #expect(key.status == 201)
            let value = try #require(key.json["value"] as? String)
            let keyID = try #require((key.json["key"] as? [String: Any])?["id"] as? String)
            #expect((key.json["key"] as? [String: Any])?["roles"] as? [String] == ["ControlPlaneViewer", "DataPlaneEditor"])
            // The key works in its own project only, with its roles.
            #expect(try await client.call(.get, "/indexes", key: value).status == 200)
            #expect(try await client.createIndex("nope", key: value).status == 403)

            let described = try await client.admin(.get, "/admin/api-keys/\(keyID)", token: token)
            #expect(described.json["project_id"] as? String == project)
            #expect(described.text.contains(value) == false)
            let updated = try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: token, body: #"{"roles":["ProjectEditor"]}"#)
            #expect(updated.json["roles"] as? [String] == ["ProjectEditor"])
            #expect(try await client.createIndex("now-allowed", key: value).status == 201)

            // A project with an index cannot be deleted; its key goes with it once it is empty.
            #expect(try await client.admin(.delete, "/admin/projects/\(project)", token: token).status == 412)
            #expect(try await client.call(.delete, "/indexes/now-allowed", key: value).status == 202)
            #expect(try await client.admin(.delete, "/admin/api-keys/\(keyID)", token: token).status == 202)
            #expect(try await client.call(.get, "/indexes", key: value).status == 401)
            #expect(try await client.admin(.delete, "/admin/projects/\(project)", token: token).status == 202)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: token).status == 404)
        }
    }

    @Test func invalidAdminInputsAreRejected() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let cases: [(String, String, Int)] = [
                ("/admin/projects", #"{"name":""}"#, 400),
                ("/admin/projects", #"{"name":"\#(String(repeating: "p", count: 513))"}"#, 400),
                ("/admin/projects", #"{"max_pods":1}"#, 422),
                ("/admin/projects", #"{"name":"x","max_pods":-1}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["Superuser"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["ProjectEditor","DataPlaneViewer"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["DataPlaneViewer","DataPlaneEditor"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":[]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"\#(String(repeating: "k", count: 81))"}"#, 400),
                ("/admin/projects/\(UUID().uuidString.lowercased())/api-keys", #"{"name":"k"}"#, 404),
                ("/admin/projects/not-a-uuid/api-keys", #"{"name":"k"}"#, 404),
            ]
            for (path, body, status) in cases {
                let reply = try await client.admin(.post, path, token: token, body: body)
                #expect(reply.status == status, "\(path) \(body.prefix(80)) -> \(reply.text)")
            }
            let keys = try await client.admin(.get, "/admin/projects/\(project)/api-keys", token: token)
            #expect((keys.json["data"] as? [Any])?.count == 1)
        }
    }

    @Test func limitedServiceAccountsSeeOnlyWhatTheirRolesAllow() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let memberToken = try await client.serviceAccount("member", role: .member, owner: owner).token
            let defaultProject = try #require(server.bootstrap).projectID.lowercasedString
            // A member sees no project it has no role in, and gets the same 404 as for a missing one.
            let listed = try await client.admin(.get, "/admin/projects", token: memberToken)
            #expect((listed.json["data"] as? [Any])?.isEmpty == true)
            let hidden = try await client.admin(.get, "/admin/projects/\(defaultProject)", token: memberToken)
            let missing = try await client.admin(.get, "/admin/projects/\(UUID().uuidString.lowercased())", token: memberToken)
            #expect(hidden.status == 404)
            #expect(missing.status == 404)
            #expect(try await client.admin(.post, "/admin/projects/\(defaultProject)/api-keys", token: memberToken, body: #"{"name":"x"}"#).status == 404)
            // It may create projects, and owns those it creates.
            let own = try await client.admin(.post, "/admin/projects", token: memberToken, body: #"{"name":"mine"}"#)
            #expect(own.status == 200)
            let ownID = try #require(own.json["id"] as? String)
            #expect(try await client.admin(.post, "/admin/projects/\(ownID)/api-keys", token: memberToken, body: #"{"name":"k"}"#).status == 201)
            // Organization-level management is denied with 403.
            #expect(try await client.admin(.get, "/admin/service-accounts", token: memberToken).status == 403)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: memberToken, body: #"{"name":"x"}"#).status == 403)
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            #expect(try await client.admin(.patch, "/admin/organizations/\(organization)", token: memberToken, body: #"{"name":"mine"}"#).status == 403)
            let orgName = try await client.admin(.get, "/admin/organizations/\(organization)", token: owner)
            #expect(orgName.json["name"] as? String == "default")
        }
    }

    @Test func bearerTokensWorkOnTheControlPlaneWithAProject() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let listed = try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)"), ("X-Project-Id", project)])
            #expect(listed.status == 200)
            let noProject = try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)")])
            #expect(noProject.status == 400)
            let otherProject = try await client.call(
                .get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)"), ("X-Project-Id", UUID().uuidString)]
            )
            #expect(otherProject.status == 403)
        }
    }
}

@Suite struct RoleBindingTests {
    @Test func connectingAServiceAccountToAProjectTakesEffectAtOnce() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.lowercasedString
            let created = try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"worker"}"#)
            let account = try #require(created.json["service_account"] as? [String: Any])
            let accountID = try #require(account["id"] as? String)
            let worker = try await client.token(clientID: try #require(account["client_id"] as? String), secret: try #require(created.json["client_secret"] as? String))
            let asWorker = [("Authorization", "Bearer \(worker)"), ("X-Project-Id", project)]
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 404)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 403)

            let binding = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"service_account","principal_id":"\#(accountID)","resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}"#
            )
            #expect(binding.status == 201)
            let bindingID = try #require(binding.json["id"] as? String)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 200)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 200)
            // A member may use the project but not manage its keys or members.
            #expect(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: worker, body: #"{"name":"k"}"#).status == 403)
            let escalate = try await client.admin(
                .post, "/admin/role-bindings", token: worker,
                body: #"{"principal_type":"service_account","principal_id":"\#(accountID)","resource_type":"project","resource_id":"\#(project)","role":"ProjectOwner"}"#
            )
            #expect(escalate.status == 403)
            let listed = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(accountID)", token: owner)
            #expect((listed.json["data"] as? [[String: Any]])?.compactMap { $0["role"] as? String }.sorted() == ["OrgMember", "ProjectMember"])

            #expect(try await client.admin(.delete, "/admin/role-bindings/\(bindingID)", token: owner).status == 202)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 404)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 403)
        }
    }

    @Test func theLastOwnerCannotBeRemovedAndManagersCannotMintOwners() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let ownerID = try #require(server.bootstrapServiceAccount).account.id.lowercasedString
            let bindings = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(ownerID)&resource_type=organization", token: owner)
            let ownerBinding = try #require((bindings.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await client.admin(.delete, "/admin/role-bindings/\(ownerBinding)", token: owner).status == 412)
            #expect(try await client.admin(.delete, "/admin/service-accounts/\(ownerID)", token: owner).status == 412)

            let manager = try await client.serviceAccount("manager", role: .manager, owner: owner)
            let managerToken = manager.token
            let mint = try await client.admin(
                .post, "/admin/service-accounts", token: managerToken,
                body: #"{"name":"evil","role_bindings":[{"resource_type":"organization","role":"OrgOwner"}]}"#
            )
            #expect(mint.status == 403)
            let promote = try await client.admin(
                .post, "/admin/role-bindings", token: managerToken,
                body: #"{"principal_type":"service_account","principal_id":"\#(manager.id)","resource_type":"organization","role":"OrgOwner"}"#
            )
            #expect(promote.status == 403)
            let accounts = try await client.admin(.get, "/admin/service-accounts", token: owner)
            #expect((accounts.json["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.contains("evil") == false)
        }
    }
}

@Suite struct UsersAndInvitesTests {
    @Test func inviteAcceptPasswordTokenAndLeave() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let invite = try await client.admin(
                .post, "/admin/invites", token: owner,
                body: #"{"email":"Ada@Example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"},{"resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}]}"#
            )
            #expect(invite.status == 201)
            #expect(invite.json["email"] as? String == "ada@example.com")
            #expect(invite.json["status"] as? String == "pending")
            let inviteID = try #require(invite.json["id"] as? String)
            let firstToken = try #require(invite.json["token"] as? String)
            // The token is shown once: listings do not carry it.
            #expect(try await client.admin(.get, "/admin/invites", token: owner).text.contains(firstToken) == false)
            let resent = try await client.admin(.post, "/admin/invites/\(inviteID)/resend", token: owner)
            let token = try #require(resent.json["token"] as? String)
            let stale = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(firstToken)","password":"correct horse battery"}"#)
            #expect(stale.status == 404)
            let weak = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"short"}"#)
            #expect(weak.status == 400)

            let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"correct horse battery","name":"Ada"}"#)
            #expect(accepted.status == 200)
            let userID = try #require(accepted.json["id"] as? String)
            let again = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"correct horse battery"}"#)
            #expect(again.status == 412)
            #expect(try await client.admin(.get, "/admin/invites/\(inviteID)", token: owner).json["status"] as? String == "processed")

            // The password grant yields a bearer token for the Admin API and the project.
            let wrong = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"wrong horse battery"}"#)
            #expect(wrong.status == 401)
            let login = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            let ada = try #require(login.json["access_token"] as? String)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: ada).status == 200)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(ada)"), ("X-Project-Id", project)]).status == 200)
            #expect(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: ada, body: #"{"name":"k"}"#).status == 403)
            let users = try await client.admin(.get, "/admin/users", token: owner)
            #expect((users.json["data"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["ada@example.com"])

            // Leaving takes effect on the next request.
            #expect(try await client.admin(.delete, "/admin/users/\(userID)", token: ada).status == 202)
            #expect(try await client.admin(.get, "/admin/projects", token: ada).status == 401)
            #expect(try await client.admin(.get, "/admin/users/\(userID)", token: owner).status == 404)
        }
        let catalog = try Data(contentsOf: directory.appendingPathComponent("catalog.sqlite"))
        #expect(catalog.range(of: Data("correct horse battery".utf8)) == nil)
    }

    @Test func invitesCannotGrantMoreThanTheInviterHas() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let token = try await client.serviceAccount("manager", role: .manager, owner: owner).token
            let ownerInvite = try await client.admin(
                .post, "/admin/invites", token: token, body: #"{"email":"x@example.com","role_bindings":[{"resource_type":"organization","role":"OrgOwner"}]}"#
            )
            #expect(ownerInvite.status == 403)
            let noOrgRole = try await client.admin(.post, "/admin/invites", token: owner, body: #"{"email":"y@example.com","role_bindings":[]}"#)
            #expect(noOrgRole.status == 400)
            let badEmail = try await client.admin(
                .post, "/admin/invites", token: owner, body: #"{"email":"not-an-email","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            )
            #expect(badEmail.status == 400)
        }
    }
}

@Suite struct PasswordHasherTests {
    @Test func hashesVerifyAndDiffer() throws {
        let first = try PasswordHasher.hash("correct horse battery")
        let second = try PasswordHasher.hash("correct horse battery")
        #expect(first != second)
        #expect(first.hasPrefix("scrypt$15$8$1$"))
        #expect(PasswordHasher.verify("correct horse battery", against: first))
        #expect(!PasswordHasher.verify("correct horse batterY", against: first))
        #expect(!PasswordHasher.verify("x", against: "plain"))
    }
}

@Suite struct PlanTests {
    @Test func plansGateKeyRolesAndServiceAccounts() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["plan"] as? String == "Enterprise")

            _ = try await server.catalog.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["plan"] as? String == "Free")
            let viewer = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"v","roles":["DataPlaneViewer"]}"#)
            #expect(viewer.status == 402)
            let editor = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#)
            #expect(editor.status == 201)
            let keyID = try #require((editor.json["key"] as? [String: Any])?["id"] as? String)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"roles":["ProjectViewer"]}"#).status == 402)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"name":"renamed"}"#).status == 200)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 402)

            _ = try await server.catalog.setPlan(.standard, organization: nil)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"roles":["ProjectViewer"]}"#).status == 200)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 402)
            _ = try await server.catalog.setPlan(.enterprise, organization: nil)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 201)
        }
    }
}
