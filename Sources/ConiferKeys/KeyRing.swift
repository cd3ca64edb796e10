import ConiferCore
import Crypto
import Foundation

/// Where the master key comes from: `--master-key-file`, then `CONIFER_MASTER_KEY`, then `master.key` in
/// the data directory (generated there, mode 0600, when a new data directory starts).
public enum MasterKeySource: Sendable, Equatable, CustomStringConvertible {
    case environment(String)
    case file(URL)
    case dataDirectory(URL)

    public static func resolve(dataDirectory: URL, file: String?, environment: [String: String]) -> MasterKeySource {
        if let file { return .file(URL(fileURLWithPath: file)) }
        if let value = environment["CONIFER_MASTER_KEY"], !value.isEmpty { return .environment(value) }
        return .dataDirectory(dataDirectory.appendingPathComponent("master.key"))
    }

    public var description: String {
        switch self {
        case .environment: "CONIFER_MASTER_KEY"
        case .file(let url): url.path
        case .dataDirectory(let url): url.path
        }
    }

    /// The key; generated into the data directory when `mayCreate` and no key is there yet.
    public func load(mayCreate: Bool) throws(ConiferError) -> MasterKey {
        switch self {
        case .environment(let value):
            do { return try MasterKey.parse(value) } catch { throw .invalidArgument("CONIFER_MASTER_KEY: \(error)") }
        case .file(let url), .dataDirectory(let url):
            if case .dataDirectory = self, mayCreate, !FileManager.default.fileExists(atPath: url.path) {
                let key = MasterKey.generate()
                try Self.write(key, to: url)
                return key
            }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw .invalidArgument("Cannot read the master key file \(url.path).")
            }
            do { return try MasterKey.parse(text) } catch { throw .invalidArgument("\(url.path): \(error)") }
        }
    }

    /// Writes a key file readable by its owner only, durably.
    public static func write(_ key: MasterKey, to url: URL) throws(ConiferError) {
        do {
            try DurableFile.write(Array((key.encoded + "\n").utf8), to: url)
        } catch {
            throw ConiferError(.internalError, "Cannot write the master key to \(url.path): \(error)")
        }
    }
}

/// The data directory's keyring (`keyring.json`): which master key the directory is encrypted under, and
/// the server's own data key wrapped by it. Opening it is how a wrong master key is caught before anything
/// is read: the server refuses to start, naming the key it expected.
public struct KeyRing: Sendable {
    public let master: MasterKey
    /// Seals the catalog's sensitive columns (the audit spool among them) and the token signing key.
    public let serverKey: SymmetricKey
    /// Whether this start made the keyring: a new data directory, or one written before encryption at rest.
    public let created: Bool
    /// Whether every index written before encryption at rest has been sealed (see `markIndexesSealed`).
    public let indexesSealed: Bool
    let url: URL

    static let fileName = "keyring.json"
    static let context = "conifer server key"

    struct Stored: Codable {
        var format = 1
        var masterKeyID: String
        var serverKey: String
        /// Whether the index files of a directory from before encryption at rest have all been sealed.
        var indexesSealed: Bool?
        /// A rotation begun and not finished: the server key wrapped by the new master key as well.
        var rotation: Rotation?

        struct Rotation: Codable {
            var masterKeyID: String
            var serverKey: String

            enum CodingKeys: String, CodingKey {
                case masterKeyID = "master_key_id", serverKey = "server_key"
            }
        }

        enum CodingKeys: String, CodingKey {
            case format, masterKeyID = "master_key_id", serverKey = "server_key", indexesSealed = "indexes_sealed", rotation
        }
    }

    /// Loads the master key from `source` (default: `master.key` in the directory) and opens the keyring with
    /// it: a wrong key stops here, before any file is read. A directory without a keyring gets one, and a
    /// generated master key unless one is given.
    public static func open(dataDirectory: URL, source: MasterKeySource?) throws(ConiferError) -> KeyRing {
        let source = source ?? .dataDirectory(dataDirectory.appendingPathComponent("master.key"))
        let ringExists = FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent(fileName).path)
        if ringExists, case .dataDirectory(let url) = source, !FileManager.default.fileExists(atPath: url.path) {
            throw .failedPrecondition(
                "This data directory is encrypted, and its master key is not in \(url.path). Supply it with --master-key-file or CONIFER_MASTER_KEY."
            )
        }
        return try open(dataDirectory: dataDirectory, master: try source.load(mayCreate: !ringExists))
    }

    /// Opens the keyring with `master`, creating it when there is none.
    public static func open(dataDirectory: URL, master: MasterKey) throws(ConiferError) -> KeyRing {
        let url = dataDirectory.appendingPathComponent(fileName)
        guard let stored = try read(url) else {
            let serverKey = SymmetricKey(size: .bits256)
            try write(Stored(masterKeyID: master.id, serverKey: try wrap(serverKey, master)), to: url)
            return KeyRing(master: master, serverKey: serverKey, created: true, indexesSealed: false, url: url)
        }
        if let rotation = stored.rotation {
            throw .failedPrecondition(
                "A master key rotation (from key \(stored.masterKeyID) to \(rotation.masterKeyID)) was interrupted. Run `conifer admin rotate-master-key` again with the same keys to finish it."
            )
        }
        guard stored.masterKeyID == master.id else {
            throw .failedPrecondition(
                "Wrong master key: this data directory is encrypted under key \(stored.masterKeyID), and the key given (\(master.id)) is another. Supply the right key with --master-key-file or CONIFER_MASTER_KEY."
            )
        }
        return KeyRing(
            master: master, serverKey: try unwrap(stored.serverKey, master, url), created: false, indexesSealed: stored.indexesSealed ?? false, url: url
        )
    }

    /// Records that no index file from before encryption at rest is left: from here on, an index directory
    /// without a data key is damage, never an index to seal.
    public func markIndexesSealed() throws(ConiferError) {
        guard var stored = try Self.read(url) else { return }
        stored.indexesSealed = true
        try Self.write(stored, to: url)
    }

    /// Re-wraps the server key under `new`, calling `rewrap` in between for every other key wrapped by the
    /// master key. Safe to interrupt: the keyring records the rotation first, the server refuses to start
    /// until it is finished, and running it again with the same keys finishes it (`rewrap` must skip keys
    /// already under `new`).
    public static func rotate(
        dataDirectory: URL, from old: MasterKey, to new: MasterKey, rewrap: (MasterKey, MasterKey) throws -> Void
    ) throws -> (serverKeyRewrapped: Bool, finished: Bool) {
        let url = dataDirectory.appendingPathComponent(fileName)
        guard var stored = try read(url) else {
            throw ConiferError.failedPrecondition("No keyring in \(dataDirectory.path): start the server once to create it.")
        }
        if stored.masterKeyID == new.id, stored.rotation == nil { return (false, false) }
        guard stored.masterKeyID == old.id else {
            throw ConiferError.failedPrecondition("Wrong current master key: the data directory is encrypted under key \(stored.masterKeyID), not \(old.id).")
        }
        if let rotation = stored.rotation, rotation.masterKeyID != new.id {
            throw ConiferError.failedPrecondition("An interrupted rotation to key \(rotation.masterKeyID) must be finished with that key first.")
        }
        let serverKey = try unwrap(stored.serverKey, old, url)
        let rewrapped = try wrap(serverKey, new)
        stored.rotation = .init(masterKeyID: new.id, serverKey: rewrapped)
        try write(stored, to: url)
        try rewrap(old, new)
        try write(Stored(masterKeyID: new.id, serverKey: rewrapped, indexesSealed: stored.indexesSealed), to: url)
        return (true, true)
    }

    private static func wrap(_ key: SymmetricKey, _ master: MasterKey) throws(ConiferError) -> String {
        do {
            return Data(try KeyWrap.wrap(key, under: master.derived("server"), context: context)).base64EncodedString()
        } catch {
            throw ConiferError(.internalError, "could not wrap the server key: \(error)")
        }
    }

    private static func unwrap(_ text: String, _ master: MasterKey, _ url: URL) throws(ConiferError) -> SymmetricKey {
        guard let data = Data(base64Encoded: text), let key = try? KeyWrap.unwrap(Array(data), under: master.derived("server"), context: context) else {
            throw .failedPrecondition("\(url.path) is damaged: its server key does not open with the master key it names.")
        }
        return key
    }

    private static func read(_ url: URL) throws(ConiferError) -> Stored? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url), let stored = try? JSONDecoder().decode(Stored.self, from: data) else {
            throw .failedPrecondition("\(url.path) is damaged or unreadable.")
        }
        return stored
    }

    private static func write(_ stored: Stored, to url: URL) throws(ConiferError) {
        do {
            try DurableFile.write(Array(try JSONEncoder.keys.encode(stored)), to: url)
        } catch {
            throw ConiferError(.internalError, "Cannot write \(url.path): \(error)")
        }
    }
}

extension JSONEncoder {
    /// Sorted keys, one per line: the keyring file.
    static var keys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }
}
