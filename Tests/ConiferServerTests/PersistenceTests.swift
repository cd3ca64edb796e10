import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct PersistenceTests {
    /// Two servers on one data directory would each append to the same write logs: the second is refused
    /// while the first runs, and the directory is free again once it stops.
    @Test func aSecondServerOnTheSameDataDirectoryIsRefusedWhileTheFirstRuns() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            var refusal: ConiferError?
            do {
                _ = try await ConiferApplication(configuration: ServerConfiguration(dataDirectory: directory, port: 0))
            } catch let error as ConiferError {
                refusal = error
            }
            #expect(refusal?.message.contains("in use by another Conifer process") == true, "\(String(describing: refusal))")
            let status = try await client.call(.get, "/indexes").status
            #expect(status == 200, "the first keeps serving")
        }
        try await TestServer.run(directory: directory) { server, client in
            let status = try await client.call(.get, "/indexes").status
            #expect(status == 200)
        }
    }

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
