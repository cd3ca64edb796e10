@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct ProjectIsolationTests {
    @Test func projectsSeeOnlyTheirOwnIndexes() async throws {
        try await TestServer.run { server, client in
            let boot = try #require(server.bootstrap)
            let otherProject = try await server.sqliteCatalog.createProject(name: "other", organizationID: boot.organizationID)
            let other = try await server.sqliteCatalog.createAPIKey(projectID: otherProject, name: "b", roles: [.projectEditor])

            #expect(try await client.createIndex("same-name", dimension: 3).status == 201)
            // Invisible to the other project: 404 exactly like a missing index, and absent from its list.
            let hidden = try await client.call(.get, "/indexes/same-name", key: other.value)
            #expect(hidden.status == 404)
            #expect(hidden.text == (try await client.call(.get, "/indexes/never-existed", key: other.value)).text.replacingOccurrences(of: "never-existed", with: "same-name"))
            #expect((try await client.call(.get, "/indexes", key: other.value).json["indexes"] as? [Any])?.isEmpty == true)
            #expect(try await client.call(.delete, "/indexes/same-name", key: other.value).status == 404)
            #expect(try await client.call(.patch, "/indexes/same-name", key: other.value, body: #"{"deletion_protection":"enabled"}"#).status == 404)

            // Both projects may use the same name.
            #expect(try await client.createIndex("same-name", dimension: 9, key: other.value).status == 201)
            #expect(try await client.call(.get, "/indexes/same-name").json["dimension"] as? Int == 3)
            #expect(try await client.call(.get, "/indexes/same-name", key: other.value).json["dimension"] as? Int == 9)

            // A data-plane path of project A is a missing index for project B's key.
            let path = "/data/\(boot.projectID.lowercasedString)/same-name/describe_index_stats"
            let crossData = try await client.call(.post, path, key: other.value, body: "{}")
            #expect(crossData.status == 404)
            #expect(crossData.grpcCode == 5)
            #expect(try await client.call(.post, path, body: "{}").status == 200)

            #expect(try await client.call(.delete, "/indexes/same-name", key: other.value).status == 202)
            #expect(try await client.call(.get, "/indexes/same-name").status == 200)
        }
    }
}
