import ConiferCore
import ConiferIndex
import ConiferKeys
import Foundation

/// A point-in-time copy of an index's records in one sealed file (`SealedFile`, purpose `backup`): every
/// namespace, explicitly created empty ones included, with its records in id order.
///
/// It is taken from a reader's view, which holds every write acknowledged before it was taken and none
/// after (the store publishes a group's view before it acknowledges the group): no lock, and writes and
/// queries go on meanwhile. A restore reads the whole file through its seal first, so a damaged or altered
/// backup fails before anything is written.
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

    /// The backup at `url`, opened through its seal: a damaged, cut or altered file throws `StorageCorruption`.
    public static func read(_ url: URL, cipher: FileCipher) throws -> [Namespace] {
        var reader = BinaryReader(try cipher.read(.backup, url))
        guard try reader.u32() == format else { throw StorageCorruption("backup \(url.lastPathComponent) has an unknown format") }
        let count = Int(try reader.u32())
        var namespaces: [Namespace] = []
        for _ in 0..<count {
            let name = try reader.string()
            let explicit = try reader.u8() == 1
            let size = try reader.u64()
            guard size <= UInt64(Int32.max) else { throw StorageCorruption("backup namespace \(name) claims \(size) records") }
            var records: [VectorRecord] = []
            records.reserveCapacity(Int(size))
            for _ in 0..<size { records.append(try reader.record()) }
            namespaces.append(Namespace(name: name, explicit: explicit, records: records))
        }
        guard reader.isAtEnd else { throw StorageCorruption("backup \(url.lastPathComponent) has bytes after its last namespace") }
        return namespaces
    }

    /// Writes a backup's namespaces into an empty store, a batch at a time; `progress` gets the share of
    /// records written so far (0 to 1).
    public static func restore(
        _ namespaces: [Namespace], into store: IndexStore, pass: AuthorizationPass, batch: Int = 1000, progress: (Double) async -> Void = { _ in }
    ) async throws {
        let total = max(1, namespaces.reduce(0) { $0 + $1.records.count })
        var written = 0
        for namespace in namespaces {
            if namespace.explicit { _ = try await store.write(.createNamespace(namespace.name), pass: pass) }
            for start in stride(from: 0, to: namespace.records.count, by: batch) {
                let records = Array(namespace.records[start..<min(start + batch, namespace.records.count)])
                _ = try await store.write(.upsert(namespace: namespace.name, records: records), pass: pass)
                written += records.count
                await progress(Double(written) / Double(total))
            }
        }
        await progress(1)
    }
}
