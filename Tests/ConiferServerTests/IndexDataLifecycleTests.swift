import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Logging
import Testing
@testable import ConiferServer

@Suite struct IndexDataLifecycleTests {
    @Test func deletingAnIndexDestroysItsKeyAndRetiresItsFiles() async throws {
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
            // Moved aside for the purge, without the data key that could read them.
            #expect(try FileManager.default.contentsOfDirectory(atPath: indexes.path) == ["deleted"])
            let retired = indexes.appendingPathComponent("deleted/\(before[0])")
            #expect(FileManager.default.fileExists(atPath: retired.appendingPathComponent("wal").path))
            #expect(!FileManager.default.fileExists(atPath: retired.appendingPathComponent("key").path))

            // A new index of the same name starts empty.
            let again = try await client.createIndex("doomed")
            let newHost = try #require(again.json["host"] as? String)
            let newPath = try #require(URL(string: newHost)).path
            let fetched = try await client.call(.get, "\(newPath)/vectors/fetch?ids=a&namespace=n")
            #expect(fetched.status == 200)
            #expect((fetched.json["vectors"] as? [String: Any])?.isEmpty == true)

            // The purge of the deleted index's files, a window later, is audited with the system actor.
            var logger = Logger(label: "purge-test")
            logger.logLevel = .critical
            let purge = PurgeService(registry: server.registry, catalog: server.sqliteCatalog, window: .seconds(3600), logger: logger, observer: server.observer)
            await purge.purge(now: Date())
            #expect(FileManager.default.fileExists(atPath: retired.path), "not before the window")
            await purge.purge(now: Date().addingTimeInterval(3601))
            #expect(!FileManager.default.fileExists(atPath: retired.path))
            let events = try #require(
                try await client.admin(.get, "/admin/audit-events?action=purge", token: try await client.token()).json["data"] as? [[String: Any]]
            )
            #expect(events.count == 1, "\(events)")
            #expect((events.first?["actor"] as? [String: Any])?["principal_type"] as? String == "system")
            #expect((events.first?["event"] as? [String: Any])?["resource_id"] as? String == "doomed")
        }
    }

    @Test func orphanedIndexFilesAreRetiredAtStart() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let orphan = directory.appendingPathComponent("indexes/\(UUID().uuidString.lowercased())/wal")
        try FileManager.default.createDirectory(at: orphan, withIntermediateDirectories: true)
        try await TestServer.run(directory: directory) { _, client in
            let health = try await client.call(.get, "/health", key: nil)
            #expect(health.status == 200)
            #expect(!FileManager.default.fileExists(atPath: orphan.path))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("indexes/deleted/\(orphan.deletingLastPathComponent().lastPathComponent)/wal").path))
        }
    }
}
