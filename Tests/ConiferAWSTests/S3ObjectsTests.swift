@testable import ConiferAWS
import Foundation
import Testing

/// The S3 calls an index store makes, against moto's S3 (see `Moto`).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CONIFER_MOTO_SERVER"] != nil, "set CONIFER_MOTO_SERVER to moto_server's path"))
struct S3ObjectsTests {
    let credentials = AWSCredentials(accessKeyID: "AKIACONIFERTEST", secretAccessKey: "secret")

    @Test func anObjectIsCreatedOnceReadBackAndListedPastOnePage() async throws {
        let moto = try Moto()
        defer { moto.stop() }
        try await moto.createBucket("index-store")
        let client = S3Client(region: "us-east-1", endpoint: moto.url)

        // Created where absent; refused, and left as it was, where present.
        #expect(try await client.createObject(bucket: "index-store", key: "p/wal/1.log", body: Data("first".utf8), credentials: credentials))
        #expect(try await !client.createObject(bucket: "index-store", key: "p/wal/1.log", body: Data("second".utf8), credentials: credentials))
        #expect(try await client.getObject(bucket: "index-store", key: "p/wal/1.log", credentials: credentials) == Data("first".utf8))
        #expect(try await client.getObject(bucket: "index-store", key: "p/wal/2.log", credentials: credentials) == nil)

        // More keys than one page of ListObjectsV2 (1,000), a key that must be percent-encoded, and another prefix.
        let keys = (0..<1_005).map { String(format: "p/segments/%04d.seg", $0) } + ["p/a key+with=signs"]
        for key in keys { try await client.putObject(bucket: "index-store", key: key, body: Data(), contentType: "application/octet-stream", credentials: credentials) }
        try await client.putObject(bucket: "index-store", key: "q/other", body: Data(), contentType: "text/plain", credentials: credentials)
        let listed = try await client.listObjects(bucket: "index-store", prefix: "p/", credentials: credentials)
        #expect(listed == (keys + ["p/wal/1.log"]).sorted())
        #expect(try await client.listObjects(bucket: "index-store", prefix: "p/segments/100", credentials: credentials).count == 5)
        #expect(try await client.listObjects(bucket: "index-store", prefix: "none/", credentials: credentials).isEmpty)

        try await client.deleteObject(bucket: "index-store", key: "p/wal/1.log", credentials: credentials)
        #expect(try await client.getObject(bucket: "index-store", key: "p/wal/1.log", credentials: credentials) == nil)
        // Absent again, so created again.
        #expect(try await client.createObject(bucket: "index-store", key: "p/wal/1.log", body: Data("third".utf8), credentials: credentials))
    }
}
