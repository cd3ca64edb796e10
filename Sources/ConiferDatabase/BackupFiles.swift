import ConiferAWS
import ConiferCore
import Foundation

/// Where backup files are kept: a local directory, or an S3 bucket (`--backup-store s3://bucket/prefix`).
public enum BackupStoreLocation: Sendable, Equatable {
    case directory
    case s3(bucket: String, prefix: String, region: String)

    /// `s3://bucket[/prefix]`, in `region`; nil for anything else.
    public init?(s3 text: String, region: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let path = text.dropFirst(5).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bucket = path.first, !bucket.isEmpty else { return nil }
        let prefix = path.count > 1 ? path[1].trimmingCharacters(in: CharacterSet(charactersIn: "/")) : ""
        self = .s3(bucket: String(bucket), prefix: prefix, region: region)
    }
}

/// The files of backups and collections. Each is written to `directory` first (`staging`); with an S3 store it
/// is then uploaded as `<prefix>/<id>.backup` and the local copy removed, and read back through a temporary
/// download. Files are sealed (`IndexBackup`), so a store sees only ciphertext, and a changed byte fails the read.
public struct BackupFiles: Sendable {
    /// The local store, or the staging area of the S3 one.
    public let directory: URL
    let location: BackupStoreLocation
    let sessions: AWSSessions?

    public init(directory: URL, location: BackupStoreLocation = .directory, sessions: AWSSessions? = nil) {
        self.directory = directory
        self.location = location
        self.sessions = sessions
    }

    /// Where backup `id` is written before `keep`.
    func staging(_ id: UUID) -> URL { directory.appendingPathComponent("\(id.lowercasedString).backup") }

    /// Puts the written file of backup `id` in the store.
    func keep(_ id: UUID) async throws {
        guard case .s3(let bucket, _, _) = location else { return }
        defer { try? FileManager.default.removeItem(at: staging(id)) }
        try await s3 { client, credentials in try await client.putObject(bucket: bucket, key: key(id), file: staging(id), credentials: credentials) }
    }

    /// Runs `body` with a local file holding backup `id`'s bytes (the stored file itself, or a download removed after).
    func withLocalFile<T>(_ id: UUID, _ body: (URL) async throws -> T) async throws -> T {
        guard case .s3(let bucket, _, _) = location else { return try await body(staging(id)) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let download = directory.appendingPathComponent("\(id.lowercasedString).\(UUID().lowercasedString).download")
        defer { try? FileManager.default.removeItem(at: download) }
        try await s3 { client, credentials in try await client.getObject(bucket: bucket, key: key(id), to: download, credentials: credentials) }
        return try await body(download)
    }

    /// Removes the files of backups whose rows (and keys) are gone; one that cannot be removed now is left
    /// (it is ciphertext whose key was destroyed with the row).
    public func remove(_ ids: [UUID]) async {
        for id in ids { try? FileManager.default.removeItem(at: staging(id)) }
        guard case .s3(let bucket, _, _) = location else { return }
        for id in ids { try? await s3 { client, credentials in try await client.deleteObject(bucket: bucket, key: key(id), credentials: credentials) } }
    }

    func key(_ id: UUID) -> String {
        guard case .s3(_, let prefix, _) = location, !prefix.isEmpty else { return "\(id.lowercasedString).backup" }
        return "\(prefix)/\(id.lowercasedString).backup"
    }

    /// One call to the S3 store. Its refusals and outages become errors naming the bucket and S3's answer
    /// (never a credential): 400 FAILED_PRECONDITION when S3 refused, 503 UNAVAILABLE when it could not be reached.
    private func s3(_ call: (S3Client, AWSCredentials) async throws -> Void) async throws {
        guard case .s3(let bucket, _, let region) = location, let sessions else { return }
        do {
            let credentials = try await sessions.credentials(role: nil, externalID: nil, region: region, sessionName: "conifer-backups")
            try await call(S3Client(region: region, endpoint: sessions.endpoint("s3"), transport: sessions.transport), credentials)
        } catch let error as AWSError {
            let refused = error.status.map { (400..<500).contains($0) } ?? false
            throw ConiferError(refused ? .failedPrecondition : .unavailable, "The backup store s3://\(bucket) cannot be used now (\(error)).")
        }
    }
}
