@testable import ConiferAccess
import ConiferAudit
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Every catalogued action, performed through the public API, leaves exactly one event with the right actor,
/// resource, `resource_id` form and outcome; performed by a principal without the right, one failure event.
@Suite struct AuditTrailTests {
    /// `event.action` and `resource_type` of each kind, written by hand from the issue's catalogue (Pinecone's
    /// conventions) and the operator rows it adds — not read from `AuditKind.all`, which the tests check.
    static let expected: [String: (action: String, type: String)] = [
        "rename organization": ("update", "organization"), "delete organization": ("delete", "organization"),
        "change plan": ("update", "organization"), "update billing details": ("update", "billing"),
        "create spend alert": ("create", "spend-alert"), "update spend alert": ("update", "spend-alert"),
        "delete spend alert": ("delete", "spend-alert"), "spend alert fired": ("alert", "spend-alert"),
        "invite org member": ("create", "user"), "update org member role": ("update", "user"), "remove org member": ("delete", "user"),
        "resend invite": ("update", "invite"), "revoke invite": ("delete", "invite"), "accept invite": ("accept", "invite"),
        "create project": ("create", "project"), "update project": ("update", "project"), "delete project": ("delete", "project"),
        "invite project member": ("create", "user"), "update project member role": ("update", "user"), "remove project member": ("delete", "user"),
        "create index": ("create", "index"), "configure index": ("update", "index"), "delete index": ("delete", "index"), "purge index": ("purge", "index"),
        "user login": ("login", "user"), "user logout": ("logout", "user"), "service account token": ("login", "service-account"),
        "create API key": ("create", "api-key"), "update API key": ("update", "api-key"), "delete API key": ("delete", "api-key"),
        "create service account": ("create", "service-account"), "update service account": ("update", "service-account"),
        "rotate service account secret": ("rotate-secret", "service-account"), "delete service account": ("delete", "service-account"),
        "create role binding": ("create", "role-binding"), "delete role binding": ("delete", "role-binding"),
        "create CMEK key": ("create", "cmek-key"), "delete CMEK key": ("delete", "cmek-key"),
        "create backup": ("create", "backup"), "delete backup": ("delete", "backup"),
        "create scheduled backup": ("create", "backup"), "delete expired backup": ("delete", "backup"),
        "create backup schedule": ("create", "backup-schedule"), "update backup schedule": ("update", "backup-schedule"),
        "delete backup schedule": ("delete", "backup-schedule"),
        "create collection": ("create", "collection"), "delete collection": ("delete", "collection"),
        "create private endpoint": ("create", "private-endpoints"), "delete private endpoint": ("delete", "private-endpoints"),
        "enable audit log": ("create", "audit-log"), "update audit log": ("update", "audit-log"), "remove audit log": ("delete", "audit-log"),
        "update SSO settings": ("update", "sso"), "remove SSO settings": ("delete", "sso"),
    ]

    @Test func theCatalogueHasExactlyTheKindsTheseTestsExpect() {
        #expect(Set(AuditKind.all.map(\.name)) == Set(Self.expected.keys))
        for kind in AuditKind.all {
            #expect(Self.expected[kind.name].map { $0.action == kind.action && $0.type == kind.resourceType } == true, "\(kind.name)")
        }
    }

    /// Reads the events recorded since the last call, oldest first, through `GET /admin/audit-events`.
    final class Trail: @unchecked Sendable {
        let client: any TestClientProtocol
        let owner: String
        var seen = 0

        init(client: any TestClientProtocol, owner: String) {
            self.client = client
            self.owner = owner
        }

        func total() async throws -> Int {
            var count = 0
            var token: String?
            repeat {
                let page = try await client.admin(.get, "/admin/audit-events?limit=1000" + (token.map { "&paginationToken=\($0)" } ?? ""), token: owner)
                count += (page.json["data"] as? [Any])?.count ?? 0
                token = (page.json["pagination"] as? [String: Any])?["next"] as? String
            } while token != nil
            return count
        }

        /// The events since the last call (newest last), excluding the reads of the trail itself (they are not recorded).
        func new() async throws -> [[String: Any]] {
            let all = try await client.admin(.get, "/admin/audit-events?limit=1000", token: owner).json["data"] as? [[String: Any]] ?? []
            let total = try await total()
            defer { seen = total }
            return Array(all.prefix(total - seen).reversed())
        }

        /// Exactly one new event, of the catalogue kind, with the resource id and outcome given.
        @discardableResult
        func expectOne(
            _ kind: String, id: JSONValue? = nil, success: Bool = true, principalType: String? = nil, errorCode: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws -> [String: Any] {
            let events = try await new()
            let expected = try #require(AuditTrailTests.expected[kind], sourceLocation: sourceLocation)
            #expect(events.count == 1, "\(kind): \(events)", sourceLocation: sourceLocation)
            guard let event = events.last, let body = event["event"] as? [String: Any] else { return [:] }
            #expect(body["action"] as? String == expected.action, "\(kind)", sourceLocation: sourceLocation)
            #expect(body["resource_type"] as? String == expected.type, "\(kind)", sourceLocation: sourceLocation)
            let outcome = body["outcome"] as? [String: Any]
            #expect(outcome?["result"] as? String == (success ? "success" : "failure"), "\(kind): \(body)", sourceLocation: sourceLocation)
            if success {
                #expect(outcome?["reason"] == nil && outcome?["error_code"] == nil, sourceLocation: sourceLocation)
            } else {
                #expect((outcome?["reason"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
                if let errorCode { #expect(outcome?["error_code"] as? String == errorCode, "\(kind)", sourceLocation: sourceLocation) }
            }
            if let id {
                let data = try JSONSerialization.data(withJSONObject: ["v": body["resource_id"] ?? NSNull()])
                let actual = try JSONDecoder().decode([String: JSONValue].self, from: data)["v"]
                #expect(actual == id, "\(kind) resource_id", sourceLocation: sourceLocation)
            }
            if let principalType {
                #expect((event["actor"] as? [String: Any])?["principal_type"] as? String == principalType, "\(kind)", sourceLocation: sourceLocation)
            }
            #expect((event["time"] as? String) == nil && (body["time"] as? String)?.hasSuffix("Z") == true, sourceLocation: sourceLocation)
            return event
        }
    }

    @Test func everyCataloguedActionLeavesOneEventAndEveryDenialAFailureEvent() async throws {
        // The real S3 uploader (without AWS credentials: the destination at the end cannot be written; the export
        // itself: test_audit_export.py), allowed to try an endpoint and the server's credentials on one bucket.
        let policy = try AuditDestinationPolicy(allowedEndpoints: ["http://127.0.0.1:9"], serverCredentialBuckets: ["audit"])
        try await TestServer.run(configure: { $0.auditPolicy = policy }, auditUploader: S3AuditUploader(policy: policy)) { server, client in
            let boot = try #require(server.bootstrap)
            let organization = boot.organizationID.lowercasedString
            let project = boot.projectID.lowercasedString
            let owner = try await client.token()
            let trail = Trail(client: client, owner: owner)
            _ = try await trail.new()
            let member = try await client.serviceAccount("member", role: .member, owner: owner)
            // An OrgMember may create projects; a billing admin may not.
            let billing = try await client.serviceAccount("billing", role: .billingAdmin, owner: owner)
            _ = try await trail.new()

            // Organization
            #expect(try await client.admin(.patch, "/admin/organizations/\(organization)", token: owner, body: #"{"name":"acme"}"#).status == 200)
            let renamed = try await trail.expectOne("rename organization", id: .string("acme"), principalType: "service_account")
            #expect(renamed["organization_name"] as? String == "acme" && renamed["organization_id"] as? String == organization)
            #expect((renamed["actor"] as? [String: Any])?["principal_id"] as? String != nil)
            #expect(try await client.admin(.patch, "/admin/organizations/\(organization)", token: member.token, body: #"{"name":"x"}"#).status == 403)
            try await trail.expectOne("rename organization", success: false, errorCode: "PERMISSION_DENIED")
            let contact = #"{"billing_contact":{"name":"Accounts","email":"ap@example.com","address":{"line1":"1 Main St","city":"Springfield","postal_code":"12345","country":"US"}}}"#
            #expect(try await client.admin(.patch, "/admin/organizations/\(organization)/billing", token: billing.token, body: contact).status == 200)
            let billed = try await trail.expectOne("update billing details", id: .string("acme"), principalType: "service_account")
            #expect(!"\(billed)".contains("ap@example.com"), "the event names the organization, not the contact")
            let alerts = "/admin/organizations/\(organization)/spend-alerts"
            let alert = try await client.admin(.post, alerts, token: billing.token, body: #"{"amount_usd":20,"recipients":["ap@example.com"]}"#)
            let alertID = try #require(alert.json["id"] as? String, "\(alert.text)")
            try await trail.expectOne("create spend alert", id: .string(alertID))
            #expect(try await client.admin(.patch, "\(alerts)/spike", token: billing.token, body: #"{"enabled":false}"#).status == 200)
            try await trail.expectOne("update spend alert", id: .string("spike"))
            #expect(try await client.admin(.delete, "\(alerts)/spike", token: owner).status == 400)
            try await trail.expectOne("delete spend alert", id: .string("spike"), success: false, errorCode: "INVALID_ARGUMENT")
            #expect(try await client.admin(.delete, "\(alerts)/\(alertID)", token: member.token).status == 403)
            try await trail.expectOne("delete spend alert", success: false, errorCode: "PERMISSION_DENIED")
            #expect(try await client.admin(.delete, "\(alerts)/\(alertID)", token: owner).status == 202)
            try await trail.expectOne("delete spend alert", id: .string(alertID))

            // Projects
            #expect(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"audited"}"#).status == 200)
            let projectID = try #require((try await client.admin(.get, "/admin/projects", token: owner).json["data"] as? [[String: Any]])?
                .first { $0["name"] as? String == "audited" }?["id"] as? String)
            try await trail.expectOne("create project", id: .string("audited"))
            #expect(try await client.admin(.post, "/admin/projects", token: billing.token, body: #"{"name":"nope"}"#).status == 403)
            try await trail.expectOne("create project", success: false, errorCode: "PERMISSION_DENIED")
            #expect(try await client.admin(.patch, "/admin/projects/\(projectID)", token: owner, body: #"{"name":"audited-2"}"#).status == 200)
            try await trail.expectOne("update project", id: .string("audited-2"))
            #expect(try await client.admin(.patch, "/admin/projects/\(projectID)", token: member.token, body: #"{"name":"x"}"#).status == 404)
            try await trail.expectOne("update project", success: false, errorCode: "NOT_FOUND")

            // API keys
            let key = try await client.admin(.post, "/admin/projects/\(projectID)/api-keys", token: owner, body: #"{"name":"k1","roles":["ProjectEditor"]}"#)
            let keyID = try #require((key.json["key"] as? [String: Any])?["id"] as? String)
            let keyValue = try #require(key.json["value"] as? String)
            let keyEvent = try await trail.expectOne("create API key", id: .string(keyID))
            #expect((keyEvent["event"] as? [String: Any]).map { "\($0)" }?.contains(keyValue) == false, "the key's value is never in an event")
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"name":"k2"}"#).status == 200)
            try await trail.expectOne("update API key", id: .string(keyID))
            #expect(try await client.admin(.delete, "/admin/api-keys/\(keyID)", token: member.token).status == 404)
            try await trail.expectOne("delete API key", id: .string(keyID), success: false, errorCode: "NOT_FOUND")
            #expect(try await client.admin(.delete, "/admin/api-keys/\(keyID)", token: owner).status == 202)
            try await trail.expectOne("delete API key", id: .string(keyID))

            // The project's customer-managed key: its external id is never in an event.
            let cmekBody = #"{"name":"kms","key_arn":"arn:aws:kms:us-east-1:123456789012:key/k-1","role_arn":"arn:aws:iam::123456789012:role/r","external_id":"ext-secret-77"}"#
            #expect(try await client.admin(.post, "/admin/projects/\(projectID)/cmek-keys", token: member.token, body: cmekBody).status == 404)
            try await trail.expectOne("create CMEK key", success: false, errorCode: "NOT_FOUND")
            let cmek = try await client.admin(.post, "/admin/projects/\(projectID)/cmek-keys", token: owner, body: cmekBody)
            let cmekID = try #require(cmek.json["id"] as? String, "\(cmek.text)")
            let cmekEvent = try await trail.expectOne("create CMEK key", id: .string(cmekID))
            #expect(!"\(cmekEvent)".contains("ext-secret-77"), "the external id is never in an event")
            #expect(try await client.admin(.delete, "/admin/projects/\(projectID)/cmek-keys/\(cmekID)", token: owner).status == 202)
            try await trail.expectOne("delete CMEK key", id: .string(cmekID))

            // Private endpoints.
            let endpointBody = #"{"name":"office","region":"us-east-1","allowed_cidrs":["10.1.0.0/16"]}"#
            let endpoint = try await client.admin(.post, "/admin/projects/\(projectID)/private-endpoints", token: owner, body: endpointBody)
            let endpointID = try #require(endpoint.json["id"] as? String, "\(endpoint.text)")
            try await trail.expectOne("create private endpoint", id: .string(endpointID))
            #expect(try await client.admin(.delete, "/admin/projects/\(projectID)/private-endpoints/\(endpointID)", token: owner).status == 202)
            try await trail.expectOne("delete private endpoint", id: .string(endpointID))

            // Indexes, with API keys (the bootstrap key is a ProjectEditor of the default project)
            try await client.createIndex("audited-index")
            try await trail.expectOne("create index", id: .string("audited-index"), principalType: "api_key")
            #expect([200, 202].contains(try await client.call(.patch, "/indexes/audited-index", body: #"{"deletion_protection":"enabled"}"#).status))
            try await trail.expectOne("configure index", id: .string("audited-index"), principalType: "api_key")
            #expect(try await client.call(.delete, "/indexes/audited-index").status == 403)
            try await trail.expectOne("delete index", id: .string("audited-index"), success: false, errorCode: "FORBIDDEN")
            let viewer = try await server.sqliteCatalog.createAPIKey(projectID: boot.projectID, name: "viewer", roles: [.projectViewer])
            #expect(try await client.createIndex("denied-index", key: viewer.value).status == 403)
            try await trail.expectOne("create index", success: false, principalType: "api_key", errorCode: "PERMISSION_DENIED")
            #expect([200, 202].contains(try await client.call(.patch, "/indexes/audited-index", body: #"{"deletion_protection":"disabled"}"#).status))
            _ = try await trail.new()
            #expect(try await client.call(.delete, "/indexes/audited-index").status == 202)
            try await trail.expectOne("delete index", id: .string("audited-index"))
            // Data-plane calls are not in the catalogue: nothing is recorded for them.
            try await client.createIndex("data-index", dimension: 2)
            _ = try await trail.new()
            #expect(try await client.call(.post, "/data/\(project)/data-index/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,0]}]}"#).status == 200)
            #expect(try await trail.new().isEmpty)

            // Service accounts
            let robot = try await client.admin(
                .post, "/admin/service-accounts", token: owner,
                body: #"{"name":"robot","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            )
            let robotAccount = try #require(robot.json["service_account"] as? [String: Any])
            let robotID = try #require(robotAccount["id"] as? String)
            let robotSecret = try #require(robot.json["client_secret"] as? String)
            try await trail.expectOne("create service account", id: .string(robotID))
            #expect(try await client.admin(.patch, "/admin/service-accounts/\(robotID)", token: owner, body: #"{"name":"robot-2"}"#).status == 200)
            try await trail.expectOne("update service account", id: .string(robotID))
            let robotToken = try await client.token(clientID: try #require(robotAccount["client_id"] as? String), secret: robotSecret)
            _ = try await trail.new()
            #expect(try await client.admin(.post, "/admin/service-accounts/\(robotID)/rotate-secret", token: member.token).status == 403)
            try await trail.expectOne("rotate service account secret", id: .string(robotID), success: false, errorCode: "PERMISSION_DENIED")
            let rotated = try await client.admin(.post, "/admin/service-accounts/\(robotID)/rotate-secret", token: owner)
            let newSecret = try #require(rotated.json["client_secret"] as? String)
            try await trail.expectOne("rotate service account secret", id: .string(robotID))
            // The token from before the rotation is refused, and the refusal names the account it belongs to.
            #expect(try await client.admin(.post, "/admin/projects", token: robotToken, body: #"{"name":"late"}"#).status == 401)
            let revoked = try await trail.expectOne("create project", success: false, principalType: "service_account", errorCode: "UNAUTHENTICATED")
            #expect((revoked["actor"] as? [String: Any])?["principal_id"] as? String == robotID)
            _ = try await client.token(clientID: try #require(robotAccount["client_id"] as? String), secret: newSecret)
            try await trail.expectOne("service account token", id: .string(try #require(robotAccount["client_id"] as? String)), principalType: "service_account")
            let stale = try await client.call(
                .post, "/oauth/token", key: nil,
                body: #"{"grant_type":"client_credentials","client_id":"\#(robotAccount["client_id"] as? String ?? "")","client_secret":"\#(robotSecret)"}"#
            )
            #expect(stale.status == 401)
            let staleEvent = try await trail.expectOne("service account token", success: false, principalType: "service_account", errorCode: "UNAUTHENTICATED")
            #expect((staleEvent["actor"] as? [String: Any])?["principal_id"] as? String == robotID, "a failed sign-in names the account it tried")

            // Role bindings of a service account
            let binding = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"service_account","principal_id":"\#(robotID)","resource_type":"project","resource_id":"\#(projectID)","role":"ProjectMember"}"#
            )
            let bindingID = try #require(binding.json["id"] as? String)
            try await trail.expectOne("create role binding", id: .string(bindingID))
            #expect(try await client.admin(.delete, "/admin/role-bindings/\(bindingID)", token: member.token).status == 404)
            try await trail.expectOne("delete role binding", id: .string(bindingID), success: false, errorCode: "NOT_FOUND")
            #expect(try await client.admin(.delete, "/admin/role-bindings/\(bindingID)", token: owner).status == 202)
            try await trail.expectOne("delete role binding", id: .string(bindingID))
            #expect(try await client.admin(.delete, "/admin/service-accounts/\(robotID)", token: owner).status == 202)
            try await trail.expectOne("delete service account", id: .string(robotID))

            // Members: invite, resend, accept, sign in, roles, removal
            #expect(try await client.admin(.post, "/admin/invites", token: member.token, body: #"{"email":"eve@example.com","role_bindings":[]}"#).status == 403)
            try await trail.expectOne("invite org member", success: false, errorCode: "PERMISSION_DENIED")
            let invite = try await client.admin(
                .post, "/admin/invites", token: owner,
                body: #"{"email":"Ada@Example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            )
            let inviteID = try #require(invite.json["id"] as? String)
            let inviteEvent = try await trail.expectOne("invite org member", id: .array([.string("ada@example.com")]))
            #expect("\(inviteEvent)".contains(invite.json["token"] as? String ?? "-") == false, "the invite token is never in an event")
            let resent = try await client.admin(.post, "/admin/invites/\(inviteID)/resend", token: owner)
            try await trail.expectOne("resend invite", id: .string(inviteID))
            let token = try #require(resent.json["token"] as? String)
            let password = "correct horse battery staple"
            #expect(try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"\#(password)","name":"Ada"}"#).status == 200)
            try await trail.expectOne("accept invite", id: .string("ada@example.com"), principalType: "user")
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"\#(password)"}"#).status == 200)
            let login = try await trail.expectOne("user login", id: .string("ada@example.com"), principalType: "user")
            #expect((login["actor"] as? [String: Any])?["display_name"] as? String == "Ada")
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"wrong wrong wrong"}"#).status == 401)
            try await trail.expectOne("user login", id: .string("ada@example.com"), success: false, principalType: "user", errorCode: "UNAUTHENTICATED")
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"nobody@example.com","password":"x"}"#).status == 401)
            let unknown = try await trail.expectOne("user login", id: .string("nobody@example.com"), success: false, principalType: "user")
            #expect((unknown["actor"] as? [String: Any])?["principal_name"] as? String == "nobody@example.com")
            let users = try await client.admin(.get, "/admin/users?email=ada@example.com", token: owner).json["data"] as? [[String: Any]]
            let adaID = try #require(users?.first?["id"] as? String)
            _ = try await trail.new()

            let orgRole = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"user","principal_id":"\#(adaID)","resource_type":"organization","role":"OrgManager"}"#
            )
            #expect(orgRole.status == 201)
            try await trail.expectOne("update org member role", id: .object(["user": .string("ada@example.com"), "role": .string("OrgManager")]))
            let escalation = try await client.admin(
                .post, "/admin/role-bindings", token: member.token,
                body: #"{"principal_type":"user","principal_id":"\#(adaID)","resource_type":"organization","role":"OrgOwner"}"#
            )
            #expect(escalation.status == 403)
            try await trail.expectOne(
                "update org member role", id: .object(["user": .string("ada@example.com"), "role": .string("OrgOwner")]), success: false, errorCode: "PERMISSION_DENIED"
            )
            let projectRole = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"user","principal_id":"\#(adaID)","resource_type":"project","resource_id":"\#(projectID)","role":"ProjectMember"}"#
            )
            #expect(projectRole.status == 201)
            try await trail.expectOne("invite project member", id: .array([.string("ada@example.com")]))
            let changedRole = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"user","principal_id":"\#(adaID)","resource_type":"project","resource_id":"\#(projectID)","role":"ProjectOwner"}"#
            )
            let changedID = try #require(changedRole.json["id"] as? String)
            try await trail.expectOne("update project member role", id: .object(["user": .string("ada@example.com"), "role": .string("ProjectOwner")]))
            #expect(try await client.admin(.delete, "/admin/role-bindings/\(changedID)", token: owner).status == 202)
            try await trail.expectOne("remove project member", id: .object(["user": .string("ada@example.com"), "project": .string("audited-2")]))
            #expect(try await client.admin(.delete, "/admin/users/\(adaID)", token: member.token).status == 403)
            try await trail.expectOne("remove org member", id: .string("ada@example.com"), success: false, errorCode: "PERMISSION_DENIED")
            #expect(try await client.admin(.delete, "/admin/users/\(adaID)", token: owner).status == 202)
            try await trail.expectOne("remove org member", id: .string("ada@example.com"))
            let second = try await client.admin(.post, "/admin/invites", token: owner, body: #"{"email":"bob@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#)
            _ = try await trail.new()
            #expect(try await client.admin(.delete, "/admin/invites/\(try #require(second.json["id"] as? String))", token: owner).status == 202)
            try await trail.expectOne("revoke invite", id: .string(try #require(second.json["id"] as? String)))

            // Project deletion last: it names the project.
            #expect(try await client.admin(.delete, "/admin/projects/\(projectID)", token: owner).status == 202)
            try await trail.expectOne("delete project", id: .string("audited-2"))

            // Audit-log settings: only owners; an unreachable destination is a clear 400 and a failure event.
            #expect(try await client.admin(.put, "/admin/audit-log", token: member.token, body: #"{"bucket":"audit"}"#).status == 403)
            try await trail.expectOne("enable audit log", success: false, errorCode: "PERMISSION_DENIED")
            let unreachable = try await client.admin(
                .put, "/admin/audit-log", token: owner, body: #"{"bucket":"audit/sub","region":"us-east-1","endpoint_url":"http://127.0.0.1:9"}"#
            )
            #expect(unreachable.status == 400)
            #expect(unreachable.message?.contains("audit-log-access-test") == true)
            try await trail.expectOne("enable audit log", id: .string("audit/sub"), success: false, errorCode: "INVALID_ARGUMENT")
            #expect(try await client.admin(.get, "/admin/audit-log", token: owner).json["enabled"] as? Bool == false)
            #expect(try await client.admin(.get, "/admin/audit-events", token: member.token).status == 403)
            _ = try await trail.new()
            #expect(try await trail.new().isEmpty, "reading the audit log is not itself recorded")
        }
    }

    /// The route table against the catalogue: every route that changes state names its kind, or says why its
    /// handler records its own events or why it is not audited (only the data plane is not, as in Pinecone); no
    /// route that changes nothing names one; and every kind is recorded by some route, handler or system work.
    @Test func everyStateChangingRouteIsAuditedOrExemptWithAReason() async throws {
        try await TestServer.run { server, _ in
            let (_, routes) = server.buildRouter()
            for entry in routes.entries {
                let route = "\(entry.method.rawValue) \(entry.path)"
                switch entry.audit {
                case nil:
                    #expect(!entry.changesState, "\(route) changes state but names no audit kind or exemption")
                case .kind?:
                    #expect(entry.changesState, "\(route) changes nothing but names an audit kind")
                case .byHandler(let reason)?:
                    #expect(entry.changesState && entry.access == .open && !reason.isEmpty, "\(route)")
                case .exempt(let reason)?:
                    #expect(entry.changesState && entry.path.hasPrefix("/data/") && !reason.isEmpty, "\(route): only the data plane is exempt")
                }
            }
            // Kinds no route records by default: a handler's more precise kind, a sign-in's, the system's or the operator's.
            let unrouted: Set<AuditKind> = [
                .changePlan, .acceptInvite, .updateOrgMemberRole, .inviteProjectMember, .updateProjectMemberRole, .removeProjectMember,
                .purgeIndex, .createScheduledBackup, .deleteExpiredBackup, .userLogin, .serviceAccountToken, .spendAlertFired,
            ]
            let routed = Set(routes.entries.compactMap(\.auditKind))
            #expect(routed.union(unrouted) == Set(AuditKind.all) && routed.isDisjoint(with: unrouted))
        }
    }

    @Test func eventsAreFilteredPagedAndValidated() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            for name in ["p1", "p2", "p3"] {
                #expect(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"\#(name)"}"#).status == 200)
            }
            let created = try await client.admin(.get, "/admin/audit-events?resource_type=project&action=create&limit=2", token: owner)
            let firstPage = try #require(created.json["data"] as? [[String: Any]])
            #expect(firstPage.compactMap { ($0["event"] as? [String: Any])?["resource_id"] as? String } == ["p3", "p2"], "newest first")
            let next = try #require((created.json["pagination"] as? [String: Any])?["next"] as? String)
            let rest = try await client.admin(.get, "/admin/audit-events?resource_type=project&action=create&limit=2&paginationToken=\(next)", token: owner)
            #expect((rest.json["data"] as? [[String: Any]])?.compactMap { ($0["event"] as? [String: Any])?["resource_id"] as? String } == ["p1"])
            #expect(rest.json["pagination"] == nil)
            let principal = try #require((firstPage.first?["actor"] as? [String: Any])?["principal_id"] as? String)
            let byPrincipal = try await client.admin(.get, "/admin/audit-events?principal_id=\(principal)&action=login", token: owner)
            #expect((byPrincipal.json["data"] as? [Any])?.count == 1, "the owner's one sign-in")
            let future = try await client.admin(.get, "/admin/audit-events?since=2999-01-01T00:00:00Z", token: owner)
            #expect((future.json["data"] as? [Any])?.isEmpty == true)
            let past = try await client.admin(.get, "/admin/audit-events?until=2000-01-01T00:00:00.000Z", token: owner)
            #expect((past.json["data"] as? [Any])?.isEmpty == true)
            for bad in ["limit=0", "limit=1001", "since=yesterday", "paginationToken=abc"] {
                let reply = try await client.admin(.get, "/admin/audit-events?\(bad)", token: owner)
                #expect(reply.status == 400, "\(bad)")
                #expect(reply.errorCode == "INVALID_ARGUMENT")
            }
            // Retention: events older than the cut-off go, newer ones stay.
            #expect(try await server.sqliteCatalog.purgeEvents(before: Date().addingTimeInterval(-86_400)) == 0)
            let all = try await server.sqliteCatalog.events(AuditQuery(organizationID: try #require(server.bootstrap).organizationID, limit: 1000))
            #expect(try await server.sqliteCatalog.purgeEvents(before: Date().addingTimeInterval(1)) == all.events.count)
        }
    }

    @Test func auditLogSettingsNeedTheEnterprisePlan() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            _ = try await server.admin.setPlan(.standard, organization: nil)
            for (method, body) in [(HTTPRequest.Method.get, nil), (.put, #"{"bucket":"audit"}"#), (.patch, #"{"paused":true}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                let reply = try await client.admin(method, "/admin/audit-log", token: owner, body: body)
                #expect(reply.status == 402, "\(method)")
            }
            #expect(try await client.admin(.get, "/admin/audit-events", token: owner).status == 200, "events are readable on every plan")
            _ = try await server.admin.setPlan(.enterprise, organization: nil)
            for body in [#"{"bucket":"A_B"}"#, #"{"bucket":"ok-bucket","region":"US EAST"}"#, #"{"bucket":"ok-bucket","batch_interval_seconds":0}"#,
                         #"{"bucket":"ok-bucket","role_arn":"role"}"#, #"{"bucket":"ok-bucket","endpoint_url":"ftp://x"}"#, #"{"bucket":"ok-bucket","colour":"red"}"#,
                         #"{"bucket":"ok-bucket/../x"}"#, #"{"region":"us-east-1"}"#] {
                let reply = try await client.admin(.put, "/admin/audit-log", token: owner, body: body)
                #expect(reply.status == 400, "\(body): \(reply.text)")
            }
            #expect(try await client.admin(.patch, "/admin/audit-log", token: owner, body: #"{"paused":true}"#).status == 404)
            #expect(try await client.admin(.delete, "/admin/audit-log", token: owner).json["enabled"] as? Bool == false, "removing nothing is a no-op")
        }
    }

    /// Every catalogued route, called by an organization member who may not, leaves one failure event of its
    /// kind with the error the caller got; the audit-log settings leave their success events too.
    @Test func everyRefusedCallOfTheCatalogueLeavesAFailureEvent() async throws {
        try await TestServer.run { server, client in
            let boot = try #require(server.bootstrap)
            let organization = boot.organizationID.lowercasedString
            let owner = try await client.token()
            let member = try await client.serviceAccount("member", role: .member, owner: owner)
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"kept"}"#).json["id"] as? String)
            let key = try #require((try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"k"}"#).json["key"] as? [String: Any])?["id"] as? String)
            let robot = try await client.serviceAccount("robot", role: .member, owner: owner)
            let invite = try #require(try await client.admin(
                .post, "/admin/invites", token: owner, body: #"{"email":"x@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            ).json["id"] as? String)
            let binding = try #require(try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"service_account","principal_id":"\#(robot.id)","resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}"#
            ).json["id"] as? String)
            let viewer = try await server.sqliteCatalog.createAPIKey(projectID: boot.projectID, name: "viewer", roles: [.projectViewer])
            try await client.createIndex("kept-index")
            let trail = Trail(client: client, owner: owner)
            _ = try await trail.new()

            let refused: [(String, HTTPRequest.Method, String, String?, String)] = [
                ("rename organization", .patch, "/admin/organizations/\(organization)", #"{"name":"x"}"#, "PERMISSION_DENIED"),
                ("update billing details", .patch, "/admin/organizations/\(organization)/billing", #"{"billing_contact":null}"#, "PERMISSION_DENIED"),
                ("update project", .patch, "/admin/projects/\(project)", #"{"name":"x"}"#, "NOT_FOUND"),
                ("delete project", .delete, "/admin/projects/\(project)", nil, "NOT_FOUND"),
                ("create API key", .post, "/admin/projects/\(project)/api-keys", #"{"name":"x"}"#, "NOT_FOUND"),
                ("update API key", .patch, "/admin/api-keys/\(key)", #"{"name":"x"}"#, "NOT_FOUND"),
                ("delete API key", .delete, "/admin/api-keys/\(key)", nil, "NOT_FOUND"),
                ("create service account", .post, "/admin/service-accounts", #"{"name":"x"}"#, "PERMISSION_DENIED"),
                ("update service account", .patch, "/admin/service-accounts/\(robot.id)", #"{"name":"x"}"#, "PERMISSION_DENIED"),
                ("rotate service account secret", .post, "/admin/service-accounts/\(robot.id)/rotate-secret", nil, "PERMISSION_DENIED"),
                ("delete service account", .delete, "/admin/service-accounts/\(robot.id)", nil, "PERMISSION_DENIED"),
                ("invite org member", .post, "/admin/invites", #"{"email":"y@example.com","role_bindings":[]}"#, "PERMISSION_DENIED"),
                ("resend invite", .post, "/admin/invites/\(invite)/resend", nil, "PERMISSION_DENIED"),
                ("revoke invite", .delete, "/admin/invites/\(invite)", nil, "PERMISSION_DENIED"),
                ("create role binding", .post, "/admin/role-bindings",
                 #"{"principal_type":"service_account","principal_id":"\#(robot.id)","resource_type":"project","resource_id":"\#(project)","role":"ProjectOwner"}"#, "NOT_FOUND"),
                ("delete role binding", .delete, "/admin/role-bindings/\(binding)", nil, "NOT_FOUND"),
                ("enable audit log", .put, "/admin/audit-log", #"{"bucket":"audit"}"#, "PERMISSION_DENIED"),
                ("update audit log", .patch, "/admin/audit-log", #"{"paused":true}"#, "PERMISSION_DENIED"),
                ("remove audit log", .delete, "/admin/audit-log", nil, "PERMISSION_DENIED"),
                ("update SSO settings", .put, "/admin/organizations/\(organization)/sso", SSOTests.settings(), "PERMISSION_DENIED"),
                ("remove SSO settings", .delete, "/admin/organizations/\(organization)/sso", nil, "PERMISSION_DENIED"),
                ("create CMEK key", .post, "/admin/projects/\(project)/cmek-keys", #"{"name":"k","key_arn":"arn:aws:kms:us-east-1:123456789012:key/k","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#, "NOT_FOUND"),
                ("delete CMEK key", .delete, "/admin/projects/\(project)/cmek-keys/\(UUID().lowercasedString)", nil, "NOT_FOUND"),
                ("create private endpoint", .post, "/admin/projects/\(project)/private-endpoints",
                 #"{"name":"e","region":"us-east-1","vpc_endpoint_id":"vpce-0123456789abcdef0"}"#, "NOT_FOUND"),
                ("delete private endpoint", .delete, "/admin/projects/\(project)/private-endpoints/\(UUID().lowercasedString)", nil, "NOT_FOUND"),
            ]
            for (kind, method, path, body, code) in refused {
                let reply = try await client.admin(method, path, token: member.token, body: body)
                #expect([403, 404].contains(reply.status), "\(kind): \(reply.text)")
                try await trail.expectOne(kind, success: false, principalType: "service_account", errorCode: code)
            }
            // An OrgMember may create projects; a billing admin may not.
            let billing = try await client.serviceAccount("billing", role: .billingAdmin, owner: owner)
            _ = try await trail.new()
            #expect(try await client.admin(.post, "/admin/projects", token: billing.token, body: #"{"name":"x"}"#).status == 403)
            try await trail.expectOne("create project", success: false, errorCode: "PERMISSION_DENIED")
            for (kind, method, path, body) in [
                ("create index", HTTPRequest.Method.post, "/indexes", #"{"name":"x","dimension":3,"metric":"cosine","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}}"#),
                ("configure index", .patch, "/indexes/kept-index", #"{"deletion_protection":"enabled"}"#),
                ("delete index", .delete, "/indexes/kept-index", nil),
            ] as [(String, HTTPRequest.Method, String, String?)] {
                #expect(try await client.call(method, path, key: viewer.value, body: body).status == 403, "\(kind)")
                try await trail.expectOne(kind, success: false, principalType: "api_key", errorCode: "PERMISSION_DENIED")
            }

            // The settings themselves, by the owner (the objects go to memory here; to S3 in test_audit_export.py).
            #expect(try await client.admin(.put, "/admin/audit-log", token: owner, body: #"{"bucket":"audit/sub","region":"eu-west-1","role_arn":"arn:aws:iam::123456789012:role/audit"}"#).status == 200)
            try await trail.expectOne("enable audit log", id: .string("audit/sub"))
            #expect(try await client.admin(.patch, "/admin/audit-log", token: owner, body: #"{"paused":true}"#).json["state"] as? String == "paused")
            let paused = try await trail.expectOne("update audit log", id: .string("audit/sub"))
            #expect(((paused["event"] as? [String: Any])?["parameters"] as? [String: Any])?["paused"] as? Bool == true)
            #expect(try await client.admin(.delete, "/admin/audit-log", token: owner).status == 202)
            try await trail.expectOne("remove audit log", id: .string("audit/sub"))
        }
    }

    /// Deleting an organization is recorded (refusals too); its export delivers what is pending, then the
    /// deletion event itself, and disappears.
    @Test func deletingAnOrganizationIsRecordedAndItsExportEndsWithTheDeletion() async throws {
        let uploader = MemoryAuditUploader()
        try await TestServer.run(auditUploader: uploader) { server, client in
            let boot = try #require(server.bootstrap)
            let owner = try await client.token()
            let member = try await client.serviceAccount("member", role: .member, owner: owner)
            let trail = Trail(client: client, owner: owner)
            _ = try await trail.new()
            let main = "/admin/organizations/\(boot.organizationID.lowercasedString)"
            #expect(try await client.createIndex("guarded", extra: #","deletion_protection":"enabled""#).status == 201)
            _ = try await trail.new()
            let refused = try await client.admin(.delete, main, token: owner)
            #expect(refused.status == 412 && refused.errorCode == "FAILED_PRECONDITION", "an index under it has deletion protection")
            try await trail.expectOne("delete organization", id: .string("default"), success: false, errorCode: "FAILED_PRECONDITION")
            #expect(try await client.admin(.delete, main, token: member.token).status == 403)
            try await trail.expectOne("delete organization", success: false, errorCode: "PERMISSION_DENIED")

            let (doomed, doomedOwner) = try await server.sqliteCatalog.createOrganization(name: "doomed", plan: .enterprise)
            let token = try await client.token(clientID: doomedOwner.account.clientID, secret: doomedOwner.clientSecret)
            #expect(try await client.admin(.put, "/admin/audit-log", token: token, body: #"{"bucket":"doomed-audit","batch_interval_seconds":3600,"role_arn":"arn:aws:iam::123456789012:role/audit"}"#).status == 200)
            #expect(try await client.admin(.delete, "/admin/organizations/\(doomed.id.lowercasedString)", token: token).status == 202)
            #expect(try await client.admin(.get, "/admin/organizations", token: token).status == 401, "its accounts went with it")
            let events = try await server.sqliteCatalog.events(AuditQuery(organizationID: doomed.id, limit: 10)).events
            let deletion = try #require(events.first)
            #expect(deletion.event.action == "delete" && deletion.event.resource_type == "organization" && deletion.succeeded)
            #expect(deletion.event.resource_id == .string("doomed") && deletion.organization_name == "doomed")
            // The exporter delivers the deletion, then drops the export: wait for both (up to a minute).
            var exported: [AuditEvent] = []
            for _ in 0..<600 where try await server.sqliteCatalog.export(organization: doomed.id) != nil || !exported.contains(where: { $0.id == deletion.id }) {
                try await Task.sleep(for: .milliseconds(100))
                exported = try await uploader.objects.filter { !$0.key.hasSuffix("audit-log-access-test") }.values
                    .flatMap { try JSONDecoder().decode([AuditEvent].self, from: $0) }
            }
            #expect(Set(exported.map(\.id)) == Set(events.filter { $0.event.resource_type == "audit-log" || $0.id == deletion.id }.map(\.id)))
            #expect(try await server.sqliteCatalog.export(organization: doomed.id) == nil, "the export is gone once the deletion is delivered")
        }
    }
}
