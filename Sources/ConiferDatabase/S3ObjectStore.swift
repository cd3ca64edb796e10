import ConiferAWS
import ConiferCore
import ConiferStorage
import Foundation

/// The index store in an S3 bucket (or an S3-compatible store: `AWS_ENDPOINT_URL_S3`), under a prefix
/// (`--index-store s3://bucket/prefix`). Its failures become 503 UNAVAILABLE naming the bucket and S3's
/// answer, never a credential: a write is refused (not acknowledged) while the store cannot be reached.
public struct S3ObjectStore: ObjectStore {
    let bucket: String
    let prefix: String
    let region: String
    let sessions: AWSSessions

    /// Nil for a location that is not a bucket.
    public init?(_ location: BackupStoreLocation, sessions: AWSSessions) {
        guard case .s3(let bucket, let prefix, let region) = location else { return nil }
        self.bucket = bucket
        self.prefix = prefix.isEmpty ? "" : prefix + "/"
        self.region = region
        self.sessions = sessions
    }

    public func create(_ key: String, _ bytes: [UInt8]) async throws -> Bool {
        try await s3 { client, credentials in try await client.createObject(bucket: bucket, key: prefix + key, body: Data(bytes), credentials: credentials) }
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await s3 { client, credentials in
            try await client.putObject(bucket: bucket, key: prefix + key, body: Data(bytes), contentType: "application/octet-stream", credentials: credentials)
        }
    }

    public func put(_ key: String, file: URL) async throws {
        try await s3 { client, credentials in try await client.putObject(bucket: bucket, key: prefix + key, file: file, credentials: credentials) }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await s3 { client, credentials in try await client.getObject(bucket: bucket, key: prefix + key, credentials: credentials).map { [UInt8]($0) } }
    }

    public func download(_ key: String, to file: URL) async throws {
        try await s3 { client, credentials in try await client.getObject(bucket: bucket, key: prefix + key, to: file, credentials: credentials) }
    }

    public func list(prefix listed: String) async throws -> [String] {
        try await s3 { client, credentials in
            try await client.listObjects(bucket: bucket, prefix: prefix + listed, credentials: credentials).map { String($0.dropFirst(prefix.count)) }
        }
    }

    public func delete(_ key: String) async throws {
        try await s3 { client, credentials in try await client.deleteObject(bucket: bucket, key: prefix + key, credentials: credentials) }
    }

    private func s3<T>(_ call: (S3Client, AWSCredentials) async throws -> T) async throws -> T {
        do {
            let credentials = try await sessions.credentials(role: nil, externalID: nil, region: region, sessionName: "conifer-index-store")
            return try await call(S3Client(region: region, endpoint: sessions.endpoint("s3"), transport: sessions.transport), credentials)
        } catch let error as AWSError {
            throw ConiferError(.unavailable, "The index store s3://\(bucket) cannot be used now (\(error)).")
        }
    }
}
