@testable import ConiferAccess
import ConiferCore
import Foundation
import GRDB
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// A change and its audit event are one (`AuditDraft`): a call whose change committed is answered even when its
/// event cannot be written to the log at that moment (a new API key's only copy of its secret is in the answer),
/// and its event, staged in the change's transaction, reaches the log at the next drain.
@Suite struct AuditAtomicityTests {
    static func apiKeyEvents(_ client: any TestClientProtocol, _ owner: String) async throws -> [[String: Any]] {
        let listed = try await client.admin(.get, "/admin/audit-events?resource_type=api-key", token: owner)
        #expect(listed.status == 200, "\(listed.text)")
        return listed.json["data"] as? [[String: Any]] ?? []
    }

    @Test func aCallWhoseEventCannotBeLoggedIsAnsweredAndItsEventFollows() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyID = LockedBox("")
        let projectID = LockedBox("")
        try await TestServer.run(directory: directory) { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            projectID.withValue { $0 = project }
            let catalog = server.sqliteCatalog
            try await catalog.database.write { db in
                try db.execute(sql: "CREATE TRIGGER log_unwritable BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'disk full'); END")
            }
            let created = try await client.admin(
                .post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"ci","roles":["ProjectEditor"]}"#
            )
            #expect(created.status == 201, "\(created.text)")
            let value = try #require(created.json["value"] as? String)
            let id = try #require((created.json["key"] as? [String: Any])?["id"] as? String)
            keyID.withValue { $0 = id }
            #expect(try await client.call(.get, "/indexes", key: value).status == 200, "the key the answer carried works")
            try await catalog.database.write { db in try db.execute(sql: "DROP TRIGGER log_unwritable") }
            #expect(try await Self.apiKeyEvents(client, owner).isEmpty, "not in the log yet")
            let staged = try await catalog.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_outbox") }
            #expect(staged == 1, "staged with the key, in its transaction")
        }
        // The next start records it before anything else.
        try await TestServer.run(directory: directory) { server, client in
            let owner = try await client.token()
            let events = try await Self.apiKeyEvents(client, owner)
            #expect(events.count == 1)
            let event = try #require(events.first?["event"] as? [String: Any])
            #expect(event["action"] as? String == "create")
            #expect((event["outcome"] as? [String: Any])?["result"] as? String == "success")
            #expect((events.first?["actor"] as? [String: Any])?["principal_type"] as? String == "service_account")
            #expect(try await server.sqliteCatalog.verifyAuditChain() == nil)
            // Settled normally from here on: the resource is the key, as the call ended.
            let second = try await client.admin(
                .post, "/admin/projects/\(projectID.value)/api-keys", token: owner,
                body: #"{"name":"ci-2","roles":["ProjectViewer"]}"#
            )
            let secondID = try #require((second.json["key"] as? [String: Any])?["id"] as? String)
            let latest = try await Self.apiKeyEvents(client, owner).first?["event"] as? [String: Any]
            #expect(latest?["resource_id"] as? String == secondID && secondID != keyID.value)
            let staged = try await server.sqliteCatalog.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_outbox") }
            #expect(staged == 0)
        }
    }
}
