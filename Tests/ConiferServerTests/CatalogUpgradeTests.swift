@testable import ConiferAccess
import ConiferCore
import Foundation
import GRDB
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// A data directory written before the catalog's rows held UUIDs (commit 3aa337a, `Fixtures/data-dir-3aa337a`)
/// opens with today's code: every credential still signs in with its rights, every resource is where it was, the
/// index answers from its records, the audit chain verifies; and what today's code writes keeps ids as lowercase
/// text, the form every data directory has.
@Suite struct CatalogUpgradeTests {
    struct Fixture: Decodable {
        var bootstrap_key: String
        var client_id: String
        var client_secret: String
        var default_project: String
        var second_project: String
        var viewer_key: String
        var viewer_key_id: String
        var ci_client_id: String
        var ci_client_secret: String
        var ci_id: String
        var user_email: String
        var user_password: String
        var backup_id: String
    }

    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/data-dir-3aa337a")

    /// The columns that hold ids, by table.
    static let idColumns: [String: [String]] = [
        "organization": ["id"], "project": ["id", "organization_id"], "api_key": ["id", "project_id"],
        "service_account": ["id", "organization_id"], "role_binding": ["id", "principal_id", "resource_id"], "user": ["id"],
        "invite": ["id", "organization_id"], "index_definition": ["id", "project_id"], "private_endpoint": ["id", "project_id"],
    ]

    @Test func aDataDirectoryWrittenBeforeUUIDRowsOpensAsItWas() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Self.source, to: directory)
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: directory.appendingPathComponent("fixture.json")))

        try await TestServer.run(directory: directory, bootstrapKey: nil) { server, client in
            // The bootstrap key, its project's index (definition, tags, records) and the backup of it.
            let indexes = try await client.call(.get, "/indexes", key: fixture.bootstrap_key, version: "2025-04")
            let index = try #require((indexes.json["indexes"] as? [[String: Any]])?.first)
            #expect(index["name"] as? String == "movies" && (index["tags"] as? [String: String]) == ["team": "search"])
            let query = try await client.call(
                .post, "/data/\(fixture.default_project)/movies/query", key: fixture.bootstrap_key,
                body: #"{"vector":[1,0,0],"topK":1,"namespace":"n1","includeMetadata":true}"#
            )
            #expect((query.json["matches"] as? [[String: Any]])?.first?["id"] as? String == "a", "\(query.text)")
            let backups = try await client.call(.get, "/backups", key: fixture.bootstrap_key, version: "2025-10")
            #expect((backups.json["data"] as? [[String: Any]])?.first?["backup_id"] as? String == fixture.backup_id)
            #expect((backups.json["data"] as? [[String: Any]])?.first?["description"] as? String == "before the change")

            // The viewer key of the second project: its project only, read only.
            #expect(try await client.call(.get, "/indexes", key: fixture.viewer_key).status == 200)
            #expect(try await client.createIndex("nope", key: fixture.viewer_key).status == 403)

            // The owner, the service account with a project role, and the user who accepted an invite.
            let owner = try await client.token(clientID: fixture.client_id, secret: fixture.client_secret)
            let projects = try await client.admin(.get, "/admin/projects", token: owner).json["data"] as? [[String: Any]] ?? []
            #expect(Set(projects.compactMap { $0["name"] as? String }) == ["default", "second"])
            let key = try await client.admin(.get, "/admin/api-keys/\(fixture.viewer_key_id)", token: owner)
            #expect(key.json["project_id"] as? String == fixture.second_project && key.json["roles"] as? [String] == ["ProjectViewer"])
            let ci = try await client.token(clientID: fixture.ci_client_id, secret: fixture.ci_client_secret)
            let ciProjects = try await client.admin(.get, "/admin/projects", token: ci).json["data"] as? [[String: Any]] ?? []
            #expect(ciProjects.compactMap { $0["id"] as? String } == [fixture.second_project])
            let bindings = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(fixture.ci_id)", token: owner).json["data"] as? [[String: Any]]
            #expect(Set(bindings?.compactMap { $0["role"] as? String } ?? []) == ["OrgMember", "ProjectMember"])
            let signIn = try await client.call(
                .post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"\#(fixture.user_email)","password":"\#(fixture.user_password)"}"#
            )
            let user = try #require(signIn.json["access_token"] as? String)
            let userProjects = try await client.admin(.get, "/admin/projects", token: user).json["data"] as? [[String: Any]] ?? []
            #expect(userProjects.compactMap { $0["id"] as? String } == [fixture.second_project])
            let endpoints = try await client.admin(.get, "/admin/projects/\(fixture.default_project)/private-endpoints", token: owner)
            #expect((endpoints.json["data"] as? [[String: Any]])?.count == 1)
            #expect(try await server.sqliteCatalog.verifyAuditChain() == nil)
            // The ledger's units moved to the ledger by SKU, with their index's region.
            let organization = try #require((try await client.admin(.get, "/admin/organizations", token: owner).json["data"] as? [[String: Any]])?.first?["id"] as? String)
            let usage = try await client.admin(
                .get, "/admin/organizations/\(organization)/usage?start=2026-12-01&end=2026-12-31&format=csv", token: owner
            )
            #expect(usage.status == 200, "\(usage.text)")
            // (The query above may have been flushed to the ledger meanwhile, as read units.)
            let writes = usage.text.split(separator: "\r\n").filter { $0.contains("serverless_write_units") }
            #expect(writes.count == 1 && writes[0].contains(",movies,") && writes[0].contains(",us-east-1,serverless,serverless_write_units,5,"), "\(usage.text)")

            // What today's code writes: ids as lowercase text, beside the old rows.
            let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"third"}"#)
            let third = try #require(created.json["id"] as? String)
            #expect(try await client.admin(
                .post, "/admin/projects/\(third)/api-keys", token: owner, body: #"{"name":"k","roles":["ProjectEditor"]}"#
            ).status == 201)
            let odd = try await server.sqliteCatalog.database.read { db in
                try Self.idColumns.reduce(0) { count, table in
                    try table.value.reduce(count) { count, column in
                        count + (try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM \"\(table.key)\" WHERE typeof(\(column)) != 'text' OR \(column) != lower(\(column))"
                        ) ?? 0)
                    }
                }
            }
            #expect(odd == 0, "every id column holds lowercase text")
            let rows = try await server.sqliteCatalog.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_key") }
            #expect(rows == 3)
        }
    }
}
