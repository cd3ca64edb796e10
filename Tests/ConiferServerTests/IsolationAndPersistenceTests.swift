import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct ProjectIsolationTests {
    @Test func projectsSeeOnlyTheirOwnIndexes() async throws {
        try await TestServer.run { server, client in
            let boot = try #require(server.bootstrap)
            let otherProject = try await server.catalog.createProject(name: "other", organizationID: boot.organizationID)
            let other = try await server.catalog.createAPIKey(projectID: otherProject, name: "b", roles: [.projectEditor])

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

@Suite struct PersistenceTests {
    @Test func restartKeepsIndexesAndIgnoresANewBootstrapKey() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            #expect(server.bootstrap != nil)
            try await client.createIndex("survivor", dimension: 12, extra: #","tags":{"k":"v"}"#)
        }
        let laterKey = "pcsk_laterkey_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
        try await TestServer.run(directory: directory, bootstrapKey: laterKey) { server, client in
            #expect(server.bootstrap == nil)
            #expect(try await client.call(.get, "/indexes", key: laterKey).status == 401)
            let model = try await client.call(.get, "/indexes/survivor").json
            #expect(model["dimension"] as? Int == 12)
            #expect(model["tags"] as? [String: String] == ["k": "v"])
        }
    }
}

@Suite struct ServerConfigurationTests {
    @Test func refusesPublicListenerWithoutTLSUnlessTold() throws {
        let directory = URL(fileURLWithPath: "/tmp/unused")
        #expect(throws: ConiferError.self) { try ServerConfiguration(dataDirectory: directory, host: "0.0.0.0").validate() }
        #expect(throws: ConiferError.self) { try ServerConfiguration(dataDirectory: directory, host: "192.0.2.10").validate() }
        try ServerConfiguration(dataDirectory: directory, host: "0.0.0.0", insecurePublic: true).validate()
        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
            try ServerConfiguration(dataDirectory: directory, host: host).validate()
        }
    }

    @Test func advertisedOriginAndDefaults() throws {
        let directory = URL(fileURLWithPath: "/tmp/unused")
        #expect(ServerConfiguration(dataDirectory: directory).defaultOrigin(port: 5080) == "http://localhost:5080")
        #expect(ServerConfiguration(dataDirectory: directory, host: "0.0.0.0").defaultOrigin(port: 1) == "http://localhost:1")
        #expect(ServerConfiguration(dataDirectory: directory, host: "10.1.2.3").defaultOrigin(port: 2) == "http://10.1.2.3:2")
        #expect(throws: ConiferError.self) { try ServerConfiguration(dataDirectory: directory, advertiseURL: "localhost:5080").validate() }
        try ServerConfiguration(dataDirectory: directory, advertiseURL: "https://vectors.example.com").validate()
    }

    @Test func advertiseURLShapesIndexHosts() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = ServerConfiguration(
            dataDirectory: directory, port: 0, advertiseURL: "https://vectors.example.com/", bootstrapAPIKey: TestServer.bootstrapKey
        )
        let server = try await ConiferApplication(configuration: configuration)
        try await server.makeApplication(logger: .init(label: "test")).test(.live) { client in
            let created = try await client.createIndex("adv")
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(created.json["host"] as? String == "https://vectors.example.com/data/\(project)/adv")
        }
    }
}

@Suite struct IndexDataLifecycleTests {
    @Test func deletingAnIndexRemovesItsDataAndFiles() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            let created = try await client.createIndex("doomed")
            let host = try #require(created.json["host"] as? String)
            let path = try #require(URL(string: host)).path
            let upsert = try await client.call(.post, "\(path)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,2,3]}],"namespace":"n"}"#)
            #expect(upsert.status == 200)
            #expect(upsert.json["upsertedCount"] as? Int == 1)
            let indexes = directory.appendingPathComponent("indexes")
            let before = try FileManager.default.contentsOfDirectory(atPath: indexes.path)
            #expect(before.count == 1)

            #expect(try await client.call(.delete, "/indexes/doomed").status == 202)
            #expect(try await client.call(.get, "\(path)/vectors/fetch?ids=a&namespace=n").status == 404)
            let after = try FileManager.default.contentsOfDirectory(atPath: indexes.path)
            #expect(after.isEmpty)

            // A new index of the same name starts empty.
            let again = try await client.createIndex("doomed")
            let newHost = try #require(again.json["host"] as? String)
            let newPath = try #require(URL(string: newHost)).path
            let fetched = try await client.call(.get, "\(newPath)/vectors/fetch?ids=a&namespace=n")
            #expect(fetched.status == 200)
            #expect((fetched.json["vectors"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test func orphanedIndexFilesArePurgedAtStart() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let orphan = directory.appendingPathComponent("indexes/\(UUID().uuidString.lowercased())/wal")
        try FileManager.default.createDirectory(at: orphan, withIntermediateDirectories: true)
        try await TestServer.run(directory: directory) { _, client in
            let health = try await client.call(.get, "/health", key: nil)
            #expect(health.status == 200)
            #expect(!FileManager.default.fileExists(atPath: orphan.path))
        }
    }
}
