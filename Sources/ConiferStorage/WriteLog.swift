import ConiferKeys
import ConiferCore
import ConiferIndex
import Crypto
import Foundation

/// The write log of one index: each acknowledged group of writes is one immutable file `wal/<sequence>.log`
/// holding the resolved operations, with a SHA-256 over header and payload, sealed under the index's data key.
///
/// File layout (inside the seal): `CNFWAL01` · sequence (u64) · payload length (u64) · payload · SHA-256 (32 bytes).
struct WriteLog {
    static let magic = Array("CNFWAL01".utf8)
    let directory: URL
    let cipher: FileCipher

    init(directory: URL, cipher: FileCipher) {
        self.directory = directory
        self.cipher = cipher
    }

    func url(for sequence: UInt64) -> URL {
        directory.appendingPathComponent(Self.fileName(sequence))
    }

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// Encodes a group of operations as one log file's bytes.
    static func encode(sequence: UInt64, operations: [WriteOperation]) -> [UInt8] {
        var payload = BinaryWriter()
        payload.u32(UInt32(operations.count))
        for operation in operations {
            switch operation {
            case .upsert(let namespace, let records):
                payload.u8(1)
                payload.string(namespace)
                payload.u32(UInt32(records.count))
                for record in records { payload.record(record) }
            case .delete(let namespace, let ids):
                payload.u8(2)
                payload.string(namespace)
                payload.u32(UInt32(ids.count))
                for id in ids { payload.string(id) }
            case .deleteNamespace(let namespace):
                payload.u8(3)
                payload.string(namespace)
            case .createNamespace(let namespace):
                payload.u8(4)
                payload.string(namespace)
            }
        }
        var file = BinaryWriter()
        file.bytes = magic
        file.u64(sequence)
        file.u64(UInt64(payload.bytes.count))
        file.bytes.append(contentsOf: payload.bytes)
        file.bytes.append(contentsOf: SHA256.hash(data: file.bytes))
        return file.bytes
    }

    /// Decodes a log file, verifying magic, sequence, length and checksum.
    static func decode(_ bytes: [UInt8], expectedSequence: UInt64) throws -> [WriteOperation] {
        let headerLength = magic.count + 16
        guard bytes.count >= headerLength + SHA256.byteCount, Array(bytes[0..<magic.count]) == magic else {
            throw StorageCorruption("not a write-log file")
        }
        let body = bytes[0..<(bytes.count - SHA256.byteCount)]
        guard Array(SHA256.hash(data: body)) == Array(bytes[(bytes.count - SHA256.byteCount)...]) else {
            throw StorageCorruption("checksum mismatch")
        }
        var header = BinaryReader(bytes, offset: magic.count)
        guard try header.u64() == expectedSequence else { throw StorageCorruption("sequence does not match the file name") }
        guard try Int(header.u64()) == body.count - headerLength else { throw StorageCorruption("payload length mismatch") }
        var reader = BinaryReader(Array(body[headerLength...]))
        var operations: [WriteOperation] = []
        for _ in 0..<Int(try reader.u32()) {
            switch try reader.u8() {
            case 1:
                let namespace = try reader.string()
                var records: [VectorRecord] = []
                for _ in 0..<Int(try reader.u32()) { records.append(try reader.record()) }
                operations.append(.upsert(namespace: namespace, records: records))
            case 2:
                let namespace = try reader.string()
                var ids: [String] = []
                for _ in 0..<Int(try reader.u32()) { ids.append(try reader.string()) }
                operations.append(.delete(namespace: namespace, ids: ids))
            case 3: operations.append(.deleteNamespace(try reader.string()))
            case 4: operations.append(.createNamespace(try reader.string()))
            default: throw StorageCorruption("unknown operation tag")
            }
        }
        guard reader.isAtEnd else { throw StorageCorruption("trailing bytes in payload") }
        return operations
    }

    /// Makes a group durable: written under a temporary name, fsynced, renamed, directory fsynced.
    func append(sequence: UInt64, operations: [WriteOperation]) throws -> Int {
        let bytes = Self.encode(sequence: sequence, operations: operations)
        try cipher.write(.writeLog, bytes, to: url(for: sequence))
        return bytes.count
    }

    /// The operations of a log file, from its sealed bytes.
    func read(_ sequence: UInt64) throws -> (operations: [WriteOperation], bytes: Int) {
        let bytes = try cipher.read(.writeLog, url(for: sequence))
        return (try Self.decode(bytes, expectedSequence: sequence), bytes.count)
    }

    /// Sequences of the log files present, ascending.
    func sequences() throws -> [UInt64] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .compactMap { name -> UInt64? in
                guard name.hasSuffix(".log"), name.count == 24 else { return nil }
                return UInt64(name.dropLast(4))
            }
            .sorted()
    }
}

/// An immutable snapshot of an index's records as of a log sequence, written by compaction:
/// `segments/<sequence>.seg`.
///
/// File layout (`CNFSEG02`, inside the seal): magic · sequence (u64) · namespace count (u32) · per namespace, by name:
/// name, explicit flag, record count, dimension, ids, all dense values in one block (record order), sparse
/// values and metadata per record, then the HNSW graph (flag; M, entry, per-node levels, links) · SHA-256.
/// Records are in the namespace's slot order, so the graph is loaded as saved, not rebuilt. Segments of
/// the first format (`CNFSEG01`: records by id, no graph) are still read.
struct SegmentFile {
    static let magic = Array("CNFSEG02".utf8)
    static let firstFormat = Array("CNFSEG01".utf8)

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    static func encode(_ snapshot: IndexSnapshot, sequence: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        // Writing into memory cannot fail.
        try? write(snapshot, sequence: sequence) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Streams a segment of `snapshot` to `sink` in pieces of a few megabytes, one namespace image at a time,
    /// so compaction holds at most one namespace's copy and a few megabytes of output besides the index
    /// itself. `written` sees each namespace's image once it is out.
    static func write(
        _ snapshot: IndexSnapshot, sequence: UInt64, written: (String, NamespaceImage) -> Void = { _, _ in }, to sink: ([UInt8]) throws -> Void
    ) throws {
        try withoutActuallyEscaping(sink) { sink in
            var output = SegmentOutput(sink: sink)
            output.writer.bytes = magic
            output.writer.u64(sequence)
            output.writer.u32(UInt32(snapshot.namespaces.count))
            for (name, namespace) in snapshot.namespaces.sorted(by: { $0.key < $1.key }) {
                let image = namespace.image()
                try output.namespace(name, image)
                written(name, image)
            }
            try output.finish()
        }
    }

    /// The body followed by its SHA-256.
    static func sealed(_ body: [UInt8]) -> [UInt8] {
        body + SHA256.hash(data: body)
    }

    /// Makes `snapshot` the index's durable base as of `sequence`: writes the segment, atomically replaces
    /// the manifest, then removes the other segments and the log files listed in `folded` (the manifest
    /// already points past them, so removing them is only tidying up). Compaction and repair both end here.
    static func install(
        _ snapshot: IndexSnapshot, sequence: UInt64, directory: URL, cipher: FileCipher, folding folded: [UInt64],
        written: (String, NamespaceImage) -> Void = { _, _ in }
    ) throws {
        let segments = directory.appendingPathComponent("segments")
        let name = fileName(sequence)
        try cipher.write(.segment, to: segments.appendingPathComponent(name)) { sink in
            try write(snapshot, sequence: sequence, written: written, to: sink)
        }
        try Manifest(segment: name, sequence: sequence).write(in: directory, cipher: cipher)
        for old in try FileManager.default.contentsOfDirectory(atPath: segments.path) where old != name && old.hasSuffix(".seg") {
            try? FileManager.default.removeItem(at: segments.appendingPathComponent(old))
        }
        let log = WriteLog(directory: directory.appendingPathComponent("wal"), cipher: cipher)
        for sequence in folded {
            try? FileManager.default.removeItem(at: log.url(for: sequence))
        }
        try DurableFile.syncDirectory(log.directory)
        try DurableFile.syncDirectory(segments)
    }

    static func decode(_ bytes: [UInt8], settings: EngineSettings) throws -> (state: IndexState, sequence: UInt64) {
        guard bytes.count >= magic.count + SHA256.byteCount else { throw StorageCorruption("not a segment file") }
        let format = Array(bytes[0..<magic.count])
        guard format == magic || format == firstFormat else { throw StorageCorruption("not a segment file") }
        let body = bytes[0..<(bytes.count - SHA256.byteCount)]
        guard Array(SHA256.hash(data: body)) == Array(bytes[(bytes.count - SHA256.byteCount)...]) else {
            throw StorageCorruption("segment checksum mismatch")
        }
        // Read in place: a copy of the body would double the memory a large segment takes to load.
        var reader = BinaryReader(bytes, offset: magic.count, end: body.count)
        let sequence = try reader.u64()
        var state = IndexState(settings: settings)
        for _ in 0..<Int(try reader.u32()) {
            let name = try reader.string()
            if format == firstFormat {
                var operations: [WriteOperation] = try reader.u8() == 1 ? [.createNamespace(name)] : []
                var records: [VectorRecord] = []
                for _ in 0..<Int(try reader.u32()) { records.append(try reader.record()) }
                if !records.isEmpty { operations.append(.upsert(namespace: name, records: records)) }
                state.apply(operations)
            } else {
                state.restore(name, from: try namespaceImage(&reader, m: settings.hnsw.m))
            }
        }
        if format == firstFormat {
            let graphLength = Int(try reader.u64())
            guard graphLength <= body.count - reader.offset else { throw StorageCorruption("graph section truncated") }
        } else {
            guard reader.isAtEnd else { throw StorageCorruption("trailing bytes in segment") }
        }
        return (state, sequence)
    }

    private static func namespaceImage(_ reader: inout BinaryReader, m: Int) throws -> NamespaceImage {
        let explicit = try reader.u8() == 1
        let count = Int(try reader.u32())
        let dimension = Int(try reader.u32())
        var ids: [String] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(try reader.string()) }
        let vectors = try reader.floats()
        guard vectors.count == count * dimension else { throw StorageCorruption("dense block holds \(vectors.count) values for \(count) x \(dimension)") }
        var sparse: [SparseVector?] = []
        for _ in 0..<count { sparse.append(try reader.sparse()) }
        var metadata: [Metadata] = []
        for _ in 0..<count { metadata.append(try reader.metadata()) }
        var graph: GraphImage?
        if try reader.u8() == 1 {
            let savedM = Int(try reader.u32())
            let entry = try reader.u32()
            let nodes = Int(try reader.u32())
            var levels: [UInt8] = []
            for _ in 0..<nodes { levels.append(try reader.u8()) }
            let saved = GraphImage(m: savedM, levels: levels, links: try reader.uint32s(), entry: entry)
            guard saved.isWellFormed(recordCount: count) else { throw StorageCorruption("malformed graph") }
            // A graph saved with other parameters is rebuilt rather than mixed with new links.
            if savedM == m, dimension > 0 { graph = saved }
        }
        return NamespaceImage(explicit: explicit, ids: ids, dimension: dimension, vectors: vectors, sparse: sparse, metadata: metadata, graph: graph)
    }
}

/// Which segment holds the index and which log sequence it covers. Replaced atomically (`manifest`).
struct Manifest: Codable, Equatable {
    var format = 1
    /// File name of the segment under `segments/`, or nil before the first compaction.
    var segment: String?
    /// Every log file up to this sequence is folded into the segment.
    var sequence: UInt64

    static let fileName = "manifest"

    /// The index's manifest, or nil when it has none yet.
    static func read(in directory: URL, cipher: FileCipher) throws -> Manifest? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(cipher.read(.manifest, url)))
        } catch let error as DecodingError {
            throw StorageCorruption("unreadable manifest: \(error)")
        }
    }

    /// Replaces the manifest atomically.
    func write(in directory: URL, cipher: FileCipher) throws {
        try cipher.write(.manifest, Array(try JSONEncoder().encode(self)), to: directory.appendingPathComponent(Self.fileName))
    }
}

/// A segment being written: the encoder's buffer, handed to the sink (and hashed) whenever it passes a few
/// megabytes, and the SHA-256 of everything handed on, which ends the file.
private struct SegmentOutput {
    static let piece = 8 << 20
    var writer = BinaryWriter()
    var hash = SHA256()
    let sink: ([UInt8]) throws -> Void

    init(sink: @escaping ([UInt8]) throws -> Void) {
        self.sink = sink
    }

    mutating func namespace(_ name: String, _ image: NamespaceImage) throws {
        writer.string(name)
        writer.u8(image.explicit ? 1 : 0)
        writer.u32(UInt32(image.ids.count))
        writer.u32(UInt32(image.dimension))
        for id in image.ids { writer.string(id); try drainIfFull() }
        try array(image.vectors)
        for sparse in image.sparse { writer.sparse(sparse); try drainIfFull() }
        for metadata in image.metadata { writer.metadata(metadata); try drainIfFull() }
        if let graph = image.graph {
            writer.u8(1)
            writer.u32(UInt32(graph.m))
            writer.u32(graph.entry)
            writer.u32(UInt32(graph.levels.count))
            writer.bytes.append(contentsOf: graph.levels)
            try array(graph.links)
        } else {
            writer.u8(0)
        }
    }

    /// A count, then the elements' bytes (as `BinaryWriter.floats` and `uint32s` write them), a piece at a time.
    private mutating func array<Element: BitwiseCopyable>(_ values: [Element]) throws {
        writer.u32(UInt32(values.count))
        let perPiece = Self.piece / MemoryLayout<Element>.stride
        for start in stride(from: 0, to: values.count, by: perPiece) {
            values[start..<min(values.count, start + perPiece)].withUnsafeBytes { writer.bytes.append(contentsOf: $0) }
            try drainIfFull()
        }
    }

    private mutating func drainIfFull() throws {
        if writer.bytes.count >= Self.piece { try drain() }
    }

    private mutating func drain() throws {
        hash.update(data: writer.bytes)
        try sink(writer.bytes)
        writer.bytes.removeAll(keepingCapacity: true)
    }

    mutating func finish() throws {
        try drain()
        try sink(Array(hash.finalize()))
    }
}
