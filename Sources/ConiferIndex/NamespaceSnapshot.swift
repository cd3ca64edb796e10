import ConiferCore

/// A consistent view of one namespace as of the moment it was taken (see `NamespaceStore`).
public struct NamespaceSnapshot: NamespaceReader {
    let store: NamespaceStore
    let mark: NamespaceStore.Watermark

    public var recordCount: Int { mark.liveCount }
    /// Slots held in memory, live or removed (removed ones stay until compaction rebuilds the namespace).
    public var slotCount: Int { mark.slots }
    /// Created through `POST /namespaces`: listed even while empty.
    public var isExplicit: Bool { mark.explicit }

    /// The slots of the records this snapshot holds, ascending.
    var liveSlots: some Sequence<Int> {
        (0..<mark.slots).lazy.filter { [store, mark] in store.isLive($0, in: mark) }
    }

    public func record(_ id: String) -> VectorRecord? {
        store.slot(of: id, in: mark).map(store.record(at:))
    }

    public func ids(prefix: String) -> [String] {
        liveSlots.map { store.ids[$0] }.filter { $0.hasPrefix(prefix) }.sorted()
    }

    public func ids(matching filter: MetadataFilter) -> [String] {
        liveSlots.filter { filter.matches(store.metadata[$0]) }.map { store.ids[$0] }.sorted()
    }

    public func count(matching filter: MetadataFilter) -> Int {
        filter.isEmpty ? recordCount : liveSlots.count { filter.matches(store.metadata[$0]) }
    }

    /// Every record matching `filter`, in id order.
    public func records(matching filter: MetadataFilter) -> [VectorRecord] {
        liveSlots.filter { filter.matches(store.metadata[$0]) }.map(store.record(at:)).sorted { $0.id < $1.id }
    }

    /// The planner: a dense query on a namespace whose graph holds enough records searches the graph (and
    /// scans the slots the builder has not reached); anything else, and a graph search that found fewer
    /// than `topK` matches where more may exist, is an exact scan.
    public func search(_ query: SearchQuery, metric: Metric) -> [ScoredID] {
        guard query.topK > 0, recordCount > 0 else { return [] }
        if let vector = query.vector, let graph = graph(for: query, metric: metric) {
            let found = graphSearch(vector, graph: graph, topK: query.topK, ef: query.ef ?? store.settings.hnsw.efSearch, filter: query.filter)
            if found.count == min(query.topK, recordCount) { return found }
        }
        return ExactSearch.search(self, query: query, metric: metric)
    }

    public func searchIsQuick(_ query: SearchQuery, metric: Metric) -> Bool {
        guard let graph = graph(for: query, metric: metric) else { return recordCount < 4096 }
        // A filter can make the graph search walk far to find matches.
        return query.filter.isEmpty && mark.slots - min(graph.indexed, mark.slots) < 4096
    }

    /// The graph, if the planner searches it for this query: dense only, and enough records in it.
    private func graph(for query: SearchQuery, metric: Metric) -> HNSWGraph? {
        guard let vector = query.vector, query.sparse == nil, let graph = store.graph, metric == store.settings.metric,
            vector.count == graph.space.dimension, min(graph.indexed, mark.slots) >= store.settings.graphThreshold
        else { return nil }
        return graph
    }

    private func graphSearch(_ vector: [Float], graph: HNSWGraph, topK: Int, ef: Int, filter: MetadataFilter) -> [ScoredID] {
        let indexed = min(graph.indexed, mark.slots)
        let space = graph.space
        let filtering = !filter.isEmpty
        var top = TopK(k: topK, lowerIsBetter: space.metric == .euclidean)
        vector.withUnsafeBufferPointer { buffer in
            guard let query = buffer.baseAddress else { return }
            let queryNorm = DistanceKernels.norm(vector)
            // Without removals every slot below the watermark is live: no stamp to read.
            let allLive = mark.liveCount == mark.slots
            let found = graph.search(query, norm: queryNorm, ef: max(topK, ef)) { slot in
                Int(slot) < indexed && (allLive || store.isLive(Int(slot), in: mark))
                    && (!filtering || filter.matches(store.metadata[Int(slot)]))
            }
            for neighbor in found {
                let score = space.score(query, norm: queryNorm, neighbor.slot)
                if top.admits(score: score) { top.insert(ScoredID(id: store.ids[Int(neighbor.slot)], score: score)) }
            }
        }
        // Acknowledged writes the builder has not reached yet.
        ExactSearch.scan(
            self, slots: indexed..<mark.slots, query: SearchQuery(vector: vector, sparse: nil, topK: topK, filter: filter), metric: space.metric, into: &top
        )
        return top.sorted()
    }
}
