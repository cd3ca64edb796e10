import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct ServerConfigurationTests {
    @Test func refusesPublicListenerWithoutTLSUnlessTold() throws {
        let directory = URL(fileURLWithPath: "/tmp/unused")
        #expect(throws: ConiferError.self) { try ServerConfiguration(dataDirectory: directory, host: "0.0.0.0").validate() }
        #expect(throws: ConiferError.self) { try ServerConfiguration(dataDirectory: directory, host: "192.0.2.10").validate() }
        try ServerConfiguration(dataDirectory: directory, host: "0.0.0.0", insecurePublic: true).validate()
        let tls = TLSFiles(certificate: URL(fileURLWithPath: "/tmp/c.pem"), key: URL(fileURLWithPath: "/tmp/k.pem"))
        try ServerConfiguration(dataDirectory: directory, host: "192.0.2.10", tls: tls).validate()
        #expect(ServerConfiguration(dataDirectory: directory, host: "192.0.2.10", tls: tls).defaultOrigin(port: 3) == "https://192.0.2.10:3")
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
