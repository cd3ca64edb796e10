import ConiferCore
import Foundation
import Synchronization

/// How an index's namespaces are searched.
public struct EngineSettings: Sendable {
    public var metric: Metric
    public var hnsw: HNSWParameters
    /// Namespaces with fewer records in their graph than this are scanned exactly: below it a scan is about
    /// as fast as a graph search and always exact.
    public var graphThreshold: Int
    /// Threads that link new records into a graph at once (one builder per index hands them batches).
    public var buildThreads: Int
    /// What the graph is walked on: the float vectors, or int8 codes with answers rescored on the floats.
    public var encoding: VectorEncoding
    /// Where an int8 namespace keeps its float vectors; in memory without one.
    public var vectorRows: VectorRowsFactory?

    public init(
        metric: Metric = .cosine, hnsw: HNSWParameters = .init(), graphThreshold: Int = 10_000, buildThreads: Int = Self.cores,
        encoding: VectorEncoding = .float32, vectorRows: VectorRowsFactory? = nil
    ) {
        self.metric = metric
        self.hnsw = hnsw
        self.graphThreshold = graphThreshold
        self.buildThreads = max(1, buildThreads)
        self.encoding = encoding
        self.vectorRows = vectorRows
    }

    /// Records an int8 namespace waits for before its graph learns a quantizer from them (fewer are scanned
    /// exactly anyway; a namespace loaded from a segment learns from all of its records).
    var quantizerSample: Int { min(graphThreshold, Codebook.sampleSize) }

    /// The cores this process may use.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
}

/// One namespace's records in columns, with versioned slots so readers never wait for the writer.
///
/// Every upsert appends a new slot (an internal id): its id, dense values (one contiguous row of the
/// vector buffer), norm, metadata and sparse values never change afterwards. Overwriting or deleting a
/// record stamps its old slot with the version that removed it. The single writer (the index store, in
/// log order) appends and stamps, then publishes a watermark: how many slots exist, the version, the live
/// count. A reader takes the watermark once and sees exactly the slots below it whose removal stamp is
/// newer than its version, so it has a consistent snapshot however far the writer has moved on. The graph
/// is built over published slots by one background builder (`buildGraph`, each batch linked on
/// `settings.buildThreads` threads); slots not yet in it are scanned exactly, so a write is searchable as
/// soon as it is acknowledged.
public final class NamespaceStore: @unchecked Sendable {
    /// What a reader sees: the first `slots` slots, as of `version`.
    struct Watermark: Sendable {
        var slots = 0
        /// 64 bits: a busy index publishing a million groups a second would take 580,000 years to wrap it.
        var version: UInt64 = 0
        var liveCount = 0
        var explicit = false
    }

    /// No slot: the end of a chain of versions.
    static let absent = UInt32.max
    /// The removal stamp of a live slot.
    static let live = UInt64.max

    let settings: EngineSettings
    let ids = ChunkedBuffer<String>()
    let metadata = ChunkedBuffer<Metadata>()
    let sparse = ChunkedBuffer<SparseVector?>()
    let metadataIndex = MetadataIndex()
    let sparseIndex = SparseIndex()
    /// The slot that held the same id before this one (`absent` if none).
    let previous = ChunkedBuffer<UInt32>()
    /// The version that removed the slot (`live` while live).
    let removedAt = ChunkedBuffer<Atomic<UInt64>>()
    /// The dense vectors and their graph; set with the first record that has dense values, before any slot
    /// is published.
    private(set) var graph: HNSWGraph?
    /// Each id's newest slot. The writer holds the lock only to update it after appending a batch.
    private let newest = Mutex<[String: UInt32]>([:])
    private let published = Mutex(Watermark())
    /// The writer's watermark: published at the end of each group of writes.
    private var pending = Watermark()
    private var dirty = false
    private let building = Atomic<Bool>(false)
    private let retired = Atomic<Bool>(false)

    init(settings: EngineSettings) {
        self.settings = settings
    }

    var space: VectorSpace? { graph?.space }

    // MARK: Writing (the index store, one group at a time)

    /// Live records as the writer sees them (including unpublished changes).
    var pendingLiveCount: Int { pending.liveCount }
    var pendingExplicit: Bool { pending.explicit }

    func upsert(_ records: [VectorRecord]) {
        let first = ids.count
        for record in records {
            record.values.withUnsafeBufferPointer { append(id: record.id, values: $0, metadata: record.metadata, sparse: record.sparse) }
        }
        added(records.map(\.id), metadata: records.map(\.metadata), sparse: records.map(\.sparse), from: first)
    }

    /// Appends a saved image's records, reading their values where the image holds them (recovery: no
    /// record value, and no array per vector, is built on the way).
    func load(_ image: NamespaceImage) {
        let first = ids.count
        let dimension = image.dimension
        image.vectors.withUnsafeBufferPointer { vectors in
            for (index, id) in image.ids.enumerated() {
                let values = dimension > 0 ? UnsafeBufferPointer(rebasing: vectors[index * dimension..<(index + 1) * dimension]) : .init(start: nil, count: 0)
                append(id: id, values: values, metadata: image.metadata[index], sparse: image.sparse[index])
            }
        }
        added(image.ids, metadata: image.metadata, sparse: image.sparse, from: first)
    }

    /// Indexes slots `first…` just appended and maps their ids to them, removing what they overwrite.
    private func added(_ addedIDs: [String], metadata: [Metadata], sparse: [SparseVector?], from first: Int) {
        let version = pending.version &+ 1
        metadataIndex.add(metadata, firstSlot: first)
        sparseIndex.add(sparse, firstSlot: first)
        newest.withLock { newest in
            for (offset, id) in addedIDs.enumerated() {
                let slot = UInt32(first + offset)
                let old = newest.updateValue(slot, forKey: id)
                previous.append(old ?? Self.absent)
                if let old { stamp(old, version) }
                pending.liveCount += 1
            }
        }
        dirty = true
    }

    func delete(_ ids: [String]) {
        let version = pending.version &+ 1
        newest.withLock { newest in
            for id in ids {
                if let slot = newest[id] { stamp(slot, version) }
            }
        }
        dirty = true
    }

    func markExplicit() {
        pending.explicit = true
        dirty = true
    }

    /// Makes the group's changes visible to new readers.
    func publish() {
        guard dirty else { return }
        pending.version &+= 1
        pending.slots = ids.count
        let mark = pending
        published.withLock { $0 = mark }
        dirty = false
    }

    /// The namespace was deleted: stop building its graph.
    func retire() {
        retired.store(true, ordering: .releasing)
    }

    private func append(id: String, values: UnsafeBufferPointer<Float>, metadata: Metadata, sparse: SparseVector?) {
        if ids.count == 0, graph == nil, !values.isEmpty {
            let space = VectorSpace(dimension: values.count, metric: settings.metric, encoding: settings.encoding, outside: settings.vectorRows)
            graph = HNSWGraph(space: space, parameters: settings.hnsw)
        }
        ids.append(id)
        // Records were validated against the index's dimension (the first record's).
        space?.append(values)
        self.metadata.append(metadata)
        self.sparse.append(sparse)
        removedAt.appendSlot().initialize(to: Atomic(Self.live))
    }

    /// Marks a live slot removed as of `version`.
    private func stamp(_ slot: UInt32, _ version: UInt64) {
        let stamp = removedAt.pointer(Int(slot))
        guard stamp.pointee.load(ordering: .relaxed) == Self.live else { return }
        stamp.pointee.store(version, ordering: .releasing)
        pending.liveCount -= 1
    }

    // MARK: Graph building (one background builder)

    /// Published slots not yet in the graph.
    var unindexedCount: Int {
        guard let graph else { return 0 }
        return published.withLock { $0.slots } - graph.indexed
    }

    /// Adds up to `limit` published slots to the graph; returns whether more are waiting. Slots already
    /// removed get no links. Does nothing while another builder works on this namespace.
    func buildGraph(limit: Int) -> Bool {
        guard let graph, !retired.load(ordering: .acquiring) else { return false }
        guard building.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { building.store(false, ordering: .releasing) }
        let mark = published.withLock { $0 }
        let first = graph.indexed
        let end = first + min(limit, mark.slots - first)
        guard first < end else { return false }
        // Codes are made from a quantizer learnt on enough records: until then the records are scanned.
        if graph.space.encoding == .int8, first == 0, mark.slots < settings.quantizerSample { return false }
        let removed = (first..<end).map { removedAt.pointer($0).pointee.load(ordering: .acquiring) <= mark.version }
        graph.insert(removed: removed, threads: settings.buildThreads, sampleEnd: mark.slots)
        return end < mark.slots
    }

    // MARK: Reading

    public func snapshot() -> NamespaceSnapshot {
        NamespaceSnapshot(store: self, mark: published.withLock { $0 })
    }

    @inline(__always)
    func isLive(_ slot: Int, in mark: Watermark) -> Bool {
        slot < mark.slots && removedAt.pointer(slot).pointee.load(ordering: .acquiring) > mark.version
    }

    /// The slot holding `id` in the snapshot `mark`, if the record exists there.
    func slot(of id: String, in mark: Watermark) -> Int? {
        var slot = newest.withLock { $0[id] }
        while let current = slot, Int(current) >= mark.slots {
            let earlier = previous[Int(current)]
            slot = earlier == Self.absent ? nil : earlier
        }
        guard let slot, isLive(Int(slot), in: mark) else { return nil }
        return Int(slot)
    }

    func record(at slot: Int) -> VectorRecord {
        var values: [Float] = []
        if let space {
            values = space.withRow(UInt32(slot)) { Array(UnsafeBufferPointer(start: $0, count: space.dimension)) }
        }
        return VectorRecord(id: ids[slot], values: values, sparse: sparse[slot], metadata: metadata[slot])
    }
}
