import ConiferCore

/// One namespace's live records in slot order with its graph: what compaction writes into a segment and
/// recovery loads back without rebuilding the graph.
public struct NamespaceImage: Sendable, Equatable {
    public var explicit: Bool
    public var ids: [String]
    /// 0 when the namespace holds no dense values.
    public var dimension: Int
    /// `ids.count × dimension` values, row after row.
    public var vectors: [Float]
    public var sparse: [SparseVector?]
    public var metadata: [Metadata]
    public var graph: GraphImage?

    public init(
        explicit: Bool, ids: [String], dimension: Int, vectors: [Float], sparse: [SparseVector?], metadata: [Metadata], graph: GraphImage?
    ) {
        self.explicit = explicit
        self.ids = ids
        self.dimension = dimension
        self.vectors = vectors
        self.sparse = sparse
        self.metadata = metadata
        self.graph = graph
    }
}

/// An HNSW graph over the first `levels.count` records of a `NamespaceImage`.
public struct GraphImage: Sendable, Equatable {
    /// The `M` it was built with (level 0 holds up to 2M links, the others M).
    public var m: Int
    /// The top level of each node in the graph.
    public var levels: [UInt8]
    /// For each node in order, for each of its levels from 0 up: the link count, then the links.
    public var links: [UInt32]
    public var entry: UInt32

    public init(m: Int, levels: [UInt8], links: [UInt32], entry: UInt32) {
        self.m = m
        self.levels = levels
        self.links = links
        self.entry = entry
    }

    /// Whether loading it is safe: every count within its level's capacity, every link and the entry a
    /// node of the graph, the links exactly consumed, and no more nodes than records.
    public func isWellFormed(recordCount: Int) -> Bool {
        guard m >= 2, !levels.isEmpty, levels.count <= recordCount, Int(entry) < levels.count else { return false }
        var cursor = 0
        for level in levels {
            guard level <= 30 else { return false }
            for l in 0...Int(level) {
                guard cursor < links.count else { return false }
                let count = Int(links[cursor])
                guard count <= (l == 0 ? 2 * m : m), cursor + 1 + count <= links.count else { return false }
                guard links[cursor + 1..<cursor + 1 + count].allSatisfy({ Int($0) < levels.count }) else { return false }
                cursor += 1 + count
            }
        }
        return cursor == links.count
    }
}

extension NamespaceSnapshot {
    /// The snapshot's live records renumbered densely, with the graph's links to removed records replaced
    /// by their live neighbours (so compaction also repairs the graph).
    public func image() -> NamespaceImage {
        let live = Array(liveSlots)
        var renumbered = [UInt32](repeating: NamespaceStore.absent, count: mark.slots)
        for (index, slot) in live.enumerated() { renumbered[slot] = UInt32(index) }
        var vectors: [Float] = []
        let dimension = store.space?.dimension ?? 0
        if let space = store.space {
            vectors.reserveCapacity(live.count * dimension)
            for slot in live { space.withRow(UInt32(slot)) { vectors.append(contentsOf: UnsafeBufferPointer(start: $0, count: dimension)) } }
        }
        var graph: GraphImage?
        if let hnsw = store.graph {
            graph = hnsw.image(of: live, renumbered: renumbered)
        }
        return NamespaceImage(
            explicit: mark.explicit, ids: live.map { store.ids[$0] }, dimension: dimension, vectors: vectors,
            sparse: live.map { store.sparse[$0] }, metadata: live.map { store.metadata[$0] }, graph: graph
        )
    }
}

extension NamespaceStore {
    /// A namespace holding an image's records, its graph loaded as it was saved.
    convenience init(settings: EngineSettings, image: NamespaceImage) {
        self.init(settings: settings)
        if image.explicit { markExplicit() }
        if !image.ids.isEmpty { load(image) }
        if let saved = image.graph { graph?.restore(saved) }
        publish()
    }
}
