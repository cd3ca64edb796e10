import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

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
