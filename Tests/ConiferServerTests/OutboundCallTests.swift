import ConiferAWS
import ConiferAudit
import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// No tenant decides where the server connects (SECURITY.md rule 13): an audit export reaches only AWS's own
/// endpoints and the ones the operator allows, through the tenant's role unless the operator allows a bucket for
/// the server's own credentials; no redirect is followed; an upstream's error body never reaches the caller.
@Suite struct OutboundCallTests {
    /// What the server's own AWS credentials look like here (never to be seen by a tenant).
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIASERVEROWNKEY0001", "AWS_SECRET_ACCESS_KEY": "server-own-secret-0123456789"]

    /// An internal service a tenant would like the server to call: it records every request, answers a PUT into
    /// `redirect/` with a 307 to another path of its own, and everything else with an S3-shaped error whose
    /// message holds internal data.
    actor Target {
        var requests: [String] = []
        func record(_ line: String) { requests.append(line) }

        nonisolated func application() -> some ApplicationProtocol {
            let router = Router()
            router.put("**") { request, _ -> Response in
                await self.record("PUT \(request.uri.path)")
                if request.uri.path.hasPrefix("/redirect/") {
                    return Response(status: .temporaryRedirect, headers: [.location: "/elsewhere/collected?via=redirect"])
                }
                let body = "<Error><Code>InternalSecret</Code><Message>INTERNAL-SERVICE-DATA: db_password=hunter2</Message></Error>"
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            router.post("/") { request, _ -> Response in
                await self.record("POST \(request.uri.path)")
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "<Error><Code>Nope</Code><Message>db_password=hunter2</Message></Error>")))
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        }
    }

    @Test func aTenantCannotMakeTheServerCallAnAddressItNames() async throws {
        let target = Target()
        try await target.application().test(.live) { targetClient in
            let origin = "http://127.0.0.1:\(try #require(targetClient.port))"
            let sessions = AWSSessions(environment: Self.environment)

            // By default: no endpoint_url at all, and no bucket without the tenant's role.
            let closed = AuditDestinationPolicy.awsThroughTenantRoles
            try await TestServer.run(configure: { $0.auditPolicy = closed }, auditUploader: S3AuditUploader(sessions: sessions, policy: closed)) { server, client in
                _ = try await server.admin.setPlan(.enterprise, organization: nil)
                let owner = try await client.token()
                let named = try await client.admin(
                    .put, "/admin/audit-log", token: owner,
                    body: #"{"bucket":"anything","endpoint_url":"\#(origin)","role_arn":"arn:aws:iam::123456789012:role/r"}"#
                )
                #expect(named.status == 400 && named.message?.contains("--audit-endpoints") == true, "\(named.text)")
                let ownCredentials = try await client.admin(.put, "/admin/audit-log", token: owner, body: #"{"bucket":"operator-backups/prod"}"#)
                #expect(ownCredentials.status == 400 && ownCredentials.message?.contains("role_arn is required") == true, "\(ownCredentials.text)")
                #expect(try await client.admin(.get, "/admin/audit-log", token: owner).json["enabled"] as? Bool == false)
            }
            #expect(await target.requests.isEmpty, "nothing was sent to the address the tenant named")

            // An operator who allows the endpoint and a bucket for the server's credentials: the caller learns the
            // bucket and the error code, not the target's answer body or a credential; a redirect is not followed.
            let open = try AuditDestinationPolicy(allowedEndpoints: [origin], serverCredentialBuckets: ["leaky", "redirect"])
            try await TestServer.run(configure: { $0.auditPolicy = open }, auditUploader: S3AuditUploader(sessions: sessions, policy: open)) { server, client in
                _ = try await server.admin.setPlan(.enterprise, organization: nil)
                let owner = try await client.token()
                let refused = try await client.admin(.put, "/admin/audit-log", token: owner, body: #"{"bucket":"leaky","endpoint_url":"\#(origin)"}"#)
                #expect(refused.status == 400, "\(refused.text)")
                #expect(refused.message?.contains("s3://leaky/audit-log-access-test") == true && refused.message?.contains("InternalSecret") == true, "\(refused.text)")
                for secret in ["db_password", "INTERNAL-SERVICE-DATA", "AKIASERVEROWNKEY0001", "server-own-secret"] {
                    #expect(refused.text.contains(secret) == false, "\(secret) reached the caller: \(refused.text)")
                }
                let redirected = try await client.admin(.put, "/admin/audit-log", token: owner, body: #"{"bucket":"redirect","endpoint_url":"\#(origin)"}"#)
                #expect(redirected.status == 400 && redirected.message?.contains("HTTP 307") == true, "\(redirected.text)")
                // A role is assumed at the allowed endpoint only; its refusal is reported the same way.
                let role = try await client.admin(
                    .put, "/admin/audit-log", token: owner, body: #"{"bucket":"tenant","endpoint_url":"\#(origin)","role_arn":"arn:aws:iam::123456789012:role/r"}"#
                )
                #expect(role.status == 400 && role.message?.contains("Nope") == true && role.text.contains("hunter2") == false, "\(role.text)")
            }
            #expect(await target.requests == ["PUT /leaky/audit-log-access-test", "PUT /redirect/audit-log-access-test", "POST /"])
        }
    }
}
