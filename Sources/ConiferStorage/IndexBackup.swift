import ConiferCore
import ConiferIndex
import ConiferKeys
import Foundation

/// A point-in-time copy of an index's records in one sealed file (`SealedFile`, purpose `backup`): every
/// namespace, explicitly created empty ones included, with its records in id order.
///
/// It is taken from a reader's view, which holds every write acknowledged before it was taken and none
/// after (the store publishes a group's view before it acknowledges the group): no lock, and writes and
/// queries go on meanwhile. A restore reads the whole file through its seal first (`verify`), so a damaged or
/// altered backup fails before anything is written; both passes hold one chunk and one batch in memory.
public enum IndexBackup {
    /// What a backup holds.
    public struct Summary: Sendable, Equatable {
        public var recordCount: Int
        public var namespaceCount: Int
        public var sizeBytes: Int
    }

    /// One namespace of a backup.
    public struct Namespace: Sendable {
        public var name: String
        public var explicit: Bool
        public var records: [VectorRecord]
    }

    static let format: UInt32 = 1
    /// Records per piece handed to the sealing writer (so a large namespace is never encoded whole).
    static let piece = 1000

    /// Writes the store's committed state as of this call to `url` (durably), sealed with `cipher`.
    public static func write(_ store: IndexStore, to url: URL, cipher: FileCipher, pass: AuthorizationPass) throws -> Summary {
        try pass.require(.dataRead)
        let view = try store.snapshot()
        var records = 0
        let names = view.namespaceNames.sorted()
        try cipher.write(.backup, to: url) { sink in
            var header = BinaryWriter()
            header.u32(format)
            header.u32(UInt32(names.count))
            try sink(header.bytes)
            for name in names {
                guard let namespace = view.snapshot(name) else { continue }
                let ids = namespace.ids(prefix: "")
                var head = BinaryWriter()
                head.string(name)
                head.u8(namespace.isExplicit ? 1 : 0)
                head.u64(UInt64(ids.count))
                try sink(head.bytes)
                for start in stride(from: 0, to: ids.count, by: piece) {
                    var body = BinaryWriter()
                    for id in ids[start..<min(start + piece, ids.count)] {
                        // The snapshot is fixed: every id it listed is still there.
                        guard let record = namespace.record(id) else { throw StorageCorruption("record \(id) vanished from a snapshot") }
                        body.record(record)
                    }
                    try sink(body.bytes)
                }
                records += ids.count
            }
        }
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        return Summary(recordCount: records, namespaceCount: names.count, sizeBytes: size)
    }

    /// A backup file read through once: every chunk authentic and the layout whole, with what it holds.
    public struct Verified: Sendable {
        let url: URL
        public let recordCount: Int
        public let namespaceCount: Int
    }

    /// Reads the backup at `url` through its seal, a chunk at a time (constant memory), without keeping its
    /// records: a damaged, cut or altered file, or one sealed under another key, throws `StorageCorruption`.
    public static func verify(_ url: URL, cipher: FileCipher) throws -> Verified {
        var decoder = try Decoder(url, cipher: cipher)
        var records = 0
        var namespaces = 0
        while let part = try decoder.next() {
            if case .namespace = part { namespaces += 1 } else { records += 1 }
        }
        return Verified(url: url, recordCount: records, namespaceCount: namespaces)
    }

    /// The backup at `url`, whole in memory (for tests and small backups; a restore streams it).
    public static func read(_ url: URL, cipher: FileCipher) throws -> [Namespace] {
        var decoder = try Decoder(url, cipher: cipher)
        var namespaces: [Namespace] = []
        while let part = try decoder.next() {
            switch part {
            case .namespace(let name, let explicit): namespaces.append(Namespace(name: name, explicit: explicit, records: []))
            case .record(let record): namespaces[namespaces.count - 1].records.append(record)
            }
        }
        return namespaces
    }

    /// Writes a verified backup into an empty store, `batch` records at a time, reading it a chunk at a time
    /// again (each chunk authenticated again: a file changed since it was verified fails here, and the caller
    /// removes what was written); `progress` gets the share of records written so far (0 to 1).
    public static func restore(
        _ backup: Verified, cipher: FileCipher, into store: IndexStore, pass: AuthorizationPass, batch: Int = 1000,
        progress: (Double) async -> Void = { _ in }
    ) async throws {
        var decoder = try Decoder(backup.url, cipher: cipher)
        let total = Double(max(1, backup.recordCount))
        var written = 0
        var namespace = ""
        var records: [VectorRecord] = []
        records.reserveCapacity(batch)
        while true {
            let part = try decoder.next()
            if case .record(let record) = part {
                records.append(record)
                guard records.count == batch else { continue }
            }
            if !records.isEmpty {
                _ = try await store.write(.upsert(namespace: namespace, records: records), pass: pass)
                written += records.count
                records.removeAll(keepingCapacity: true)
                await progress(Double(written) / total)
            }
            switch part {
            case .namespace(let name, let explicit)?:
                namespace = name
                if explicit { _ = try await store.write(.createNamespace(name), pass: pass) }
            case .record?: continue
            case nil:
                await progress(1)
                return
            }
        }
    }

    /// A backup's parts in file order, decoded from its plaintext a chunk at a time.
    struct Decoder {
        enum Part {
            case namespace(name: String, explicit: Bool)
            case record(VectorRecord)
        }

        /// The most bytes one part may take (a record is far smaller); a part still cut off beyond it is damage.
        static let maxPart = 16 << 20

        private var chunks: FileChunks
        private let file: String
        private var pending: [UInt8] = []
        private var position = 0
        private var exhausted = false
        private var namespacesLeft: Int?
        private var recordsLeft: UInt64 = 0

        init(_ url: URL, cipher: FileCipher) throws {
            chunks = try cipher.chunks(.backup, url)
            file = url.lastPathComponent
        }

        /// The next part, or nil at the end of a complete backup.
        mutating func next() throws -> Part? {
            if namespacesLeft == nil {
                let (format, count) = try parse { reader in (try reader.u32(), try reader.u32()) }
                guard format == IndexBackup.format else { throw StorageCorruption("backup \(file) has an unknown format") }
                namespacesLeft = Int(count)
            }
            if recordsLeft > 0 {
                recordsLeft -= 1
                return .record(try parse { try $0.record() })
            }
            if let left = namespacesLeft, left > 0 {
                namespacesLeft = left - 1
                let (name, explicit, size) = try parse { reader in (try reader.string(), try reader.u8() == 1, try reader.u64()) }
                guard size <= UInt64(Int32.max) else { throw StorageCorruption("backup namespace \(name) claims \(size) records") }
                recordsLeft = size
                return .namespace(name: name, explicit: explicit)
            }
            while !exhausted { try refill() }
            guard position == pending.count else { throw StorageCorruption("backup \(file) has bytes after its last namespace") }
            return nil
        }

        /// Decodes one part from the bytes at hand, reading further chunks while it runs past their end.
        private mutating func parse<T>(_ decode: (inout BinaryReader) throws -> T) throws -> T {
            while true {
                do {
                    var reader = BinaryReader(pending, offset: position)
                    let value = try decode(&reader)
                    position = reader.offset
                    return value
                } catch {
                    if exhausted || pending.count - position > Self.maxPart { throw error }
                }
                try refill()
            }
        }

        private mutating func refill() throws {
            pending.removeFirst(position)
            position = 0
            exhausted = try !chunks.next(appendingTo: &pending)
        }
    }
}
