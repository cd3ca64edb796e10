import ConiferCore
import ConiferKeys
import Foundation

/// An object store (S3 or compatible) that keeps indexes' files beyond this node's disk (`conifer serve
/// --index-store s3://bucket/prefix`). Keys are relative to the store's own prefix.
public protocol ObjectStore: Sendable {
    /// Stores `bytes` as `key` unless an object already has that key (checked by the store, atomically); false
    /// when one has.
    func create(_ key: String, _ bytes: [UInt8]) async throws -> Bool
    /// Stores `bytes` as `key`, replacing what was there.
    func put(_ key: String, _ bytes: [UInt8]) async throws
    /// Stores the file's bytes as `key`, replacing what was there.
    func put(_ key: String, file: URL) async throws
    /// The object's bytes, or nil when there is no such key.
    func get(_ key: String) async throws -> [UInt8]?
    /// Writes the object's bytes into `file` (created or replaced).
    func download(_ key: String, to file: URL) async throws
    /// Every key under `prefix`, ascending.
    func list(prefix: String) async throws -> [String]
    /// Removes `key`; nothing happens when there is none.
    func delete(_ key: String) async throws
}

/// One index's files in the object store, under `indexes/<index-id>/` in the layout of its directory (`key`,
/// `manifest`, `wal/<sequence>.log`, `segments/<sequence>.seg`), the same sealed bytes.
///
/// With an object store the objects are the index and its directory is a cache: a write-log file is
/// acknowledged only once its object exists (created, never replaced, so a write cannot overwrite another),
/// a segment is uploaded before the manifest that names it, and log objects are removed only after a
/// manifest past them is up. `pull` makes the directory agree with the objects before recovery reads it, so
/// a node with an empty (or deleted) directory serves the same index.
struct IndexObjects: Sendable {
    let store: any ObjectStore
    let prefix: String

    init(store: any ObjectStore, indexID: UUID) {
        self.store = store
        self.prefix = Self.prefix(of: indexID)
    }

    static func prefix(of indexID: UUID) -> String { "indexes/\(indexID.uuidString.lowercased())/" }

    static func logKey(_ sequence: UInt64) -> String { "wal/" + WriteLog.fileName(sequence) }

    // MARK: Writes

    /// Makes the log file of `sequence` (already durable in `log`'s directory) durable in the store. A store
    /// that already holds that sequence means another writer got there first: the write is refused and the
    /// store must be opened again.
    func appendLog(_ sequence: UInt64, from log: WriteLog) async throws {
        let bytes = try DurableFile.read(log.url(for: sequence))
        guard try await store.create(prefix + Self.logKey(sequence), bytes) else {
            throw ObjectStoreConflict(key: prefix + Self.logKey(sequence))
        }
    }

    /// Publishes a compaction: the segment, then the manifest naming it, then removes the log objects it folded
    /// and the segments it replaced.
    func publish(segment name: String, folded: [UInt64], directory: URL) async throws {
        try await store.put(prefix + "segments/" + name, file: directory.appendingPathComponent("segments").appendingPathComponent(name))
        try await store.put(prefix + Manifest.fileName, DurableFile.read(directory.appendingPathComponent(Manifest.fileName)))
        for sequence in folded { try await store.delete(prefix + Self.logKey(sequence)) }
        for key in try await store.list(prefix: prefix + "segments/") where key != prefix + "segments/" + name {
            try await store.delete(key)
        }
    }

    // MARK: Keys

    /// The index's key file as stored, or nil when it has none (a new index, or one whose key was destroyed).
    func keyFile() async throws -> [UInt8]? {
        try await store.get(prefix + IndexKeyFile.fileName)
    }

    /// Copies the stored key file into `directory`. A directory with a key file the store lacks holds an index
    /// written before the object store was configured: it is uploaded (`seed`).
    func syncKeyFile(into directory: URL) async throws {
        let url = IndexKeyFile.url(in: directory)
        if let stored = try await keyFile() {
            guard (try? DurableFile.read(url)) != stored else { return }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try DurableFile.write(stored, to: url)
        } else if FileManager.default.fileExists(atPath: url.path) {
            try await seed(from: directory)
        }
    }

    /// Stores a new index's key file unless one is there already; false when one is (another node made it).
    func createKeyFile(_ bytes: [UInt8]) async throws -> Bool {
        try await store.create(prefix + IndexKeyFile.fileName, bytes)
    }

    /// Uploads an index that lived only in `directory` (written before the object store was configured): its
    /// segment, manifest and log, then its key file last, since a key file in the store is what says the
    /// index's objects are there.
    func seed(from directory: URL) async throws {
        let segments = directory.appendingPathComponent("segments")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: segments.path)) ?? [] where name.hasSuffix(".seg") {
            try await store.put(prefix + "segments/" + name, file: segments.appendingPathComponent(name))
        }
        let manifest = directory.appendingPathComponent(Manifest.fileName)
        if FileManager.default.fileExists(atPath: manifest.path) { try await store.put(prefix + Manifest.fileName, DurableFile.read(manifest)) }
        let wal = directory.appendingPathComponent("wal")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: wal.path)) ?? [] where name.hasSuffix(".log") {
            try await store.put(prefix + "wal/" + name, DurableFile.read(wal.appendingPathComponent(name)))
        }
        _ = try await createKeyFile(DurableFile.read(IndexKeyFile.url(in: directory)))
    }

    // MARK: Reads

    /// The sequences of the log objects in the store, ascending.
    func logSequences() async throws -> [UInt64] {
        try await listing().logs
    }

    /// In one listing: the sequences of the log objects, ascending, and the highest sequence a segment covers.
    func listing() async throws -> (logs: [UInt64], newestSegment: UInt64?) {
        var logs: [UInt64] = []
        var newestSegment: UInt64?
        for key in try await store.list(prefix: prefix) {
            let name = key.dropFirst(prefix.count)
            guard name.count == 24 + 9 || name.count == 24 + 4 else { continue }
            if name.hasPrefix("wal/"), name.hasSuffix(".log"), let sequence = UInt64(name.dropFirst(4).dropLast(4)) {
                logs.append(sequence)
            } else if name.hasPrefix("segments/"), name.hasSuffix(".seg"), let sequence = UInt64(name.dropFirst(9).dropLast(4)) {
                newestSegment = max(newestSegment ?? 0, sequence)
            }
        }
        return (logs.sorted(), newestSegment)
    }

    /// Copies the log object of `sequence` into `log`'s directory; false when the store no longer has it.
    func fetchLog(_ sequence: UInt64, into log: WriteLog) async throws -> Bool {
        guard let bytes = try await store.get(prefix + Self.logKey(sequence)) else { return false }
        try DurableFile.write(bytes, to: log.url(for: sequence))
        return true
    }

    /// Makes `directory` hold what the store holds: its manifest, the segment that manifest names and every log
    /// object after it. What the directory has beyond that was never acknowledged (a log file written before its
    /// object was refused or a stop came) or is an older cache (segments, folded log files), and is removed.
    func pull(into directory: URL, cipher: FileCipher) async throws {
        let fileManager = FileManager.default
        let wal = directory.appendingPathComponent("wal")
        let segments = directory.appendingPathComponent("segments")
        for folder in [directory, wal, segments] {
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let manifestURL = directory.appendingPathComponent(Manifest.fileName)
        if let manifest = try await store.get(prefix + Manifest.fileName) {
            if (try? DurableFile.read(manifestURL)) != manifest { try DurableFile.write(manifest, to: manifestURL) }
        } else if fileManager.fileExists(atPath: manifestURL.path) {
            try fileManager.removeItem(at: manifestURL)
        }
        let manifest = try Manifest.read(in: directory, cipher: cipher)
        if let segment = manifest?.segment, !fileManager.fileExists(atPath: segments.appendingPathComponent(segment).path) {
            let target = segments.appendingPathComponent(segment)
            let temporary = DurableFile.temporaryName(beside: target)
            try await store.download(prefix + "segments/" + segment, to: temporary)
            try DurableFile.commit(temporary, as: target)
        }
        for name in try fileManager.contentsOfDirectory(atPath: segments.path) where name != manifest?.segment {
            try fileManager.removeItem(at: segments.appendingPathComponent(name))
        }
        let floor = manifest?.sequence ?? 0
        let stored = Set(try await logSequences())
        let log = WriteLog(directory: wal, cipher: cipher)
        for sequence in try log.sequences() where sequence <= floor || !stored.contains(sequence) {
            try fileManager.removeItem(at: log.url(for: sequence))
        }
        for sequence in stored.sorted() where sequence > floor {
            guard let bytes = try await store.get(prefix + Self.logKey(sequence)) else { continue }
            if (try? DurableFile.read(log.url(for: sequence))) != bytes { try DurableFile.write(bytes, to: log.url(for: sequence)) }
        }
        try DurableFile.syncDirectory(wal)
        try DurableFile.syncDirectory(segments)
    }

    /// Removes the cached manifest, segments and log files of the index in `directory` (its key file stays).
    static func clearCache(in directory: URL) throws {
        let fileManager = FileManager.default
        let manifest = directory.appendingPathComponent(Manifest.fileName)
        if fileManager.fileExists(atPath: manifest.path) { try fileManager.removeItem(at: manifest) }
        for folder in ["segments", "wal"].map(directory.appendingPathComponent) {
            for name in (try? fileManager.contentsOfDirectory(atPath: folder.path)) ?? [] {
                try fileManager.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }

    // MARK: Deletion

    /// Destroys the key file in the store (the index's objects can no longer be opened) and leaves a marker
    /// (`deleted/<index-id>`, holding the deletion stamp) by which `purge` finds the rest once the window is over.
    func retire(stamp: [UInt8]) async throws {
        try await store.put("deleted/" + String(prefix.dropFirst("indexes/".count).dropLast()), stamp)
        try await store.delete(prefix + IndexKeyFile.fileName)
    }

    /// Removes the objects of indexes retired at least `window` ago, then their markers; returns their ids.
    static func purge(_ store: any ObjectStore, olderThan window: Duration, now: Date) async throws -> [RetiredIndex] {
        var purged: [RetiredIndex] = []
        for marker in try await store.list(prefix: "deleted/") {
            guard let id = UUID(uuidString: String(marker.dropFirst("deleted/".count))) else { continue }
            let stamp = try await store.get(marker).flatMap { RetiredIndex.Stamp(reading: Data($0)) }
            let deletedAt = stamp.map { Date(timeIntervalSince1970: Double($0.deletedAt)) } ?? .distantPast
            guard now.timeIntervalSince(deletedAt) >= Double(window.components.seconds) else { continue }
            for key in try await store.list(prefix: prefix(of: id)) { try await store.delete(key) }
            try await store.delete(marker)
            purged.append(RetiredIndex(id: id, owner: stamp?.owner))
        }
        return purged
    }
}

/// A write-log object the store already held when this node wrote it: another writer has the index (or an
/// earlier attempt of this node's landed after all). The write is refused as retriable; the store is opened
/// again from the objects before it takes another write.
struct ObjectStoreConflict: Error, CustomStringConvertible {
    var key: String
    var description: String { "the object store already holds \(key)" }
}
