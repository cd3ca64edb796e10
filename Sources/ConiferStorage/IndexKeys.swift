import ConiferCore
import ConiferKeys
import Crypto
import Foundation

/// An index's data key as stored: only wrapped, by the key-encryption key of the index's project, in the
/// file `key` of the index directory. Deleting the file is crypto-shredding: every other file of the index
/// becomes unreadable at once.
public struct IndexKeyFile: Codable, Sendable, Equatable {
    public var format = 1
    public var indexID: UUID
    public var projectID: UUID
    /// What wrapped the key: `local:<master key id>` or `kms:<key ARN>`.
    public var wrappedBy: String
    /// The wrapped key, base64.
    public var wrapped: String

    public init(indexID: UUID, projectID: UUID, wrappedBy: String, wrapped: [UInt8]) {
        self.indexID = indexID
        self.projectID = projectID
        self.wrappedBy = wrappedBy
        self.wrapped = Data(wrapped).base64EncodedString()
    }

    public var wrappedBytes: [UInt8] { Array(Data(base64Encoded: wrapped) ?? Data()) }

    static let fileName = "key"

    static func url(in directory: URL) -> URL {
        directory.appendingPathComponent(fileName)
    }

    /// The key file of the index in `directory`, or nil when there is none.
    static func read(in directory: URL) throws -> IndexKeyFile? {
        let url = url(in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(IndexKeyFile.self, from: Data(contentsOf: url))
        } catch {
            throw IndexCorruption(file: fileName, reason: "unreadable key file: \(error)")
        }
    }

    func write(in directory: URL) throws {
        try DurableFile.write(try encoded(), to: Self.url(in: directory))
    }

    /// The key file's bytes (JSON).
    func encoded() throws -> [UInt8] {
        Array(try JSONEncoder().encode(self))
    }

    /// Overwrites the key file with zeros, syncs, and removes it: without it no file of the index opens.
    static func shred(in directory: URL) throws {
        let url = url(in: directory)
        guard let handle = try? FileHandle(forUpdating: url) else { return }
        let length = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data(count: length))
        try handle.synchronize()
        try handle.close()
        try FileManager.default.removeItem(at: url)
        try DurableFile.syncDirectory(directory)
    }
}

/// Where indexes' data keys come from: made when an index is first opened, stored wrapped, unwrapped when
/// it is opened again.
public protocol IndexKeyProvider: Sendable {
    /// A new data key for an index, with the key file that stores it wrapped.
    func newKey(for definition: IndexDefinition) async throws -> (key: SymmetricKey, file: IndexKeyFile)
    /// Unwraps a key file's data key; a key that cannot be unwrapped (wrong master key, revoked customer
    /// key) throws a `ConiferError` that says so.
    func unwrap(_ file: IndexKeyFile) async throws -> SymmetricKey
    /// How long an unwrapped key may be used before it is unwrapped again (nil: while the index is open).
    func lifetime(of file: IndexKeyFile) -> Duration?
}

/// A data key that cannot be had now (its customer-managed key is disabled, access to it was revoked, or KMS
/// is unreachable): the index refuses reads and writes with `error` and asks again after `retryAfter`.
/// Nothing stored is lost; service resumes once the key is usable.
public struct KeyUnavailable: Error, Sendable {
    public var error: ConiferError
    public var retryAfter: Duration

    public init(_ error: ConiferError, retryAfter: Duration) {
        self.error = error
        self.retryAfter = retryAfter
    }
}

/// Data keys wrapped under a project key derived from the local master key.
public struct LocalIndexKeys: IndexKeyProvider {
    let master: MasterKey

    public init(master: MasterKey) {
        self.master = master
    }

    var label: String { "local:\(master.id)" }

    public func newKey(for definition: IndexDefinition) async throws -> (key: SymmetricKey, file: IndexKeyFile) {
        let key = SymmetricKey(size: .bits256)
        let wrapped = try KeyWrap.wrap(key, under: master.projectKey(definition.projectID), context: Self.context(definition.id))
        return (key, IndexKeyFile(indexID: definition.id, projectID: definition.projectID, wrappedBy: label, wrapped: wrapped))
    }

    public func unwrap(_ file: IndexKeyFile) async throws -> SymmetricKey {
        try Self.unwrap(file, with: master)
    }

    public func lifetime(of file: IndexKeyFile) -> Duration? { nil }

    static func context(_ indexID: UUID) -> String {
        "conifer index key \(indexID.uuidString.lowercased())"
    }

    static func unwrap(_ file: IndexKeyFile, with master: MasterKey) throws -> SymmetricKey {
        guard file.wrappedBy == "local:\(master.id)" else {
            throw ConiferError(.internalError, "index \(file.indexID): its data key is wrapped by \(file.wrappedBy), not by the master key in use (\(master.id))")
        }
        do {
            return try KeyWrap.unwrap(file.wrappedBytes, under: master.projectKey(file.projectID), context: context(file.indexID))
        } catch {
            throw IndexCorruption(file: IndexKeyFile.fileName, reason: "the data key does not unwrap: \(error)")
        }
    }

    /// Re-wraps, under `new`, the data key of every index under `root` wrapped by `old` (the master key
    /// rotation's work: data files are not touched). Keys already under `new` are skipped, so an
    /// interrupted rotation can be run again. Returns how many keys were re-wrapped.
    public static func rewrapAll(root: URL, from old: MasterKey, to new: MasterKey) throws -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return 0 }
        var count = 0
        for name in names.sorted() {
            let directory = root.appendingPathComponent(name)
            guard UUID(uuidString: name) != nil, var file = try IndexKeyFile.read(in: directory), file.wrappedBy == "local:\(old.id)" else { continue }
            let key = try unwrap(file, with: old)
            file.wrapped = Data(try KeyWrap.wrap(key, under: new.projectKey(file.projectID), context: context(file.indexID))).base64EncodedString()
            file.wrappedBy = "local:\(new.id)"
            try file.write(in: directory)
            count += 1
        }
        return count
    }
}
