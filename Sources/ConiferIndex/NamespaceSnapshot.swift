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

    public func record(of result: ScoredID) -> VectorRecord {
        store.record(at: result.slot)
    }

    public func id(of result: ScoredID) -> String {
        store.ids[result.slot]
    }

    public func ids(prefix: String) -> [String] {
        liveSlots.map { store.ids[$0] }.filter { $0.hasPrefix(prefix) }.sorted()
    }

    public func ids(matching filter: MetadataFilter) -> [String] {
        liveSlots(matching: filter).map { store.ids[$0] }.sorted()
    }

    public func count(matching filter: MetadataFilter) -> Int {
        filter.isEmpty ? recordCount : liveSlots(matching: filter).count
    }

    /// Every record matching `filter`, in id order.
    public func records(matching filter: MetadataFilter) -> [VectorRecord] {
        liveSlots(matching: filter).map(store.record(at:)).sorted { $0.id < $1.id }
    }

    /// The live slots whose metadata matches `filter`, ascending.
    private func liveSlots(matching filter: MetadataFilter) -> [Int] {
        guard let candidates = candidates(filter) else { return Array(liveSlots) }
        var slots: [Int] = []
        candidates.forEach { if store.isLive($0, in: mark) { slots.append($0) } }
        return slots
    }

    /// The slots (live or removed) matching a filter, from the metadata index; nil for the empty filter.
    func candidates(_ filter: MetadataFilter) -> SlotSet? {
        filter.isEmpty ? nil : store.metadataIndex.candidates(filter, bound: mark.slots)
    }

    /// How the planner answers a query.
    enum SearchPlan: Equatable {
        /// Sparse only: the inverted index with MaxScore pruning.
        case sparseIndex
        /// The HNSW graph restricted to the candidates, plus an exact scan of the slots not yet in it.
        case graph
        /// Score every candidate (every live record without a filter).
        case scan
    }

    /// The planner. A filter first becomes a set of candidates (the metadata index). A sparse query
    /// searches the inverted index. A dense query on a namespace whose graph holds enough records searches
    /// the graph unless the filter leaves few enough candidates that scanning them is cheaper; anything
    /// else, and a graph search that found fewer than `topK` matches where more may exist, is an exact
    /// scan of the candidates.
    public func search(_ query: SearchQuery, metric: Metric) -> [ScoredID] {
        guard query.topK > 0, recordCount > 0 else { return [] }
        let candidates = candidates(query.filter)
        switch plan(query, metric: metric, candidates: candidates) {
        case .sparseIndex:
            var top = TopK(k: query.topK, lowerIsBetter: false)
            if let sparse = query.sparse { SparseSearch.search(self, query: sparse, topK: query.topK, candidates: candidates, into: &top) }
            return top.sorted()
        case .graph:
            if let vector = query.vector, let graph = store.graph {
                let found = graphSearch(vector, graph: graph, topK: query.topK, ef: ef(query), candidates: candidates)
                if found.count == min(query.topK, recordCount) { return found }
            }
            fallthrough
        case .scan:
            return ExactSearch.search(self, query: query, metric: metric, candidates: candidates)
        }
    }

    func plan(_ query: SearchQuery, metric: Metric, candidates: SlotSet?) -> SearchPlan {
        if query.vector == nil, query.sparse != nil { return .sparseIndex }
        guard graph(for: query, metric: metric) != nil else { return .scan }
        return candidates.map { graphBeatsScan(matches: $0.count, ef: ef(query)) } ?? true ? .graph : .scan
    }

    private func ef(_ query: SearchQuery) -> Int {
        max(query.topK, query.ef ?? store.settings.hnsw.efSearch)
    }

    /// Whether a graph search restricted to `matches` candidates costs less than scanning them. The graph
    /// search walks through non-matching nodes too: to collect `ef` matches it expands about
    /// `ef / selectivity` nodes of up to `m` new neighbours each, so it wins when
    /// `ef · m · slots / matches < matches`.
    private func graphBeatsScan(matches: Int, ef: Int) -> Bool {
        matches * matches >= ef * store.settings.hnsw.m * mark.slots
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

    /// Candidates rescored at least per answer wanted on an int8 graph.
    static let rescoredPerAnswer = 2

    private func graphSearch(_ vector: [Float], graph: HNSWGraph, topK: Int, ef: Int, candidates: SlotSet?) -> [ScoredID] {
        let indexed = min(graph.indexed, mark.slots)
        let space = graph.space
        var top = TopK(k: topK, lowerIsBetter: space.metric == .euclidean)
        vector.withUnsafeBufferPointer { buffer in
            guard let query = buffer.baseAddress else { return }
            let queryNorm = DistanceKernels.norm(vector)
            // Without removals or a filter, every node the builder has reached is an answer.
            let found =
                mark.liveCount == mark.slots && candidates == nil
                ? graph.search(query, norm: queryNorm, ef: ef, accepting: SlotsBelow(end: indexed))
                : graph.search(query, norm: queryNorm, ef: ef, accepting: LiveMatches(snapshot: self, indexed: indexed, candidates: candidates))
            if space.encoding == .int8 {
                rescore(found, query: query, norm: queryNorm, space: space, into: &top)
            } else {
                // Float distances order the nodes exactly as their scores do (the same dot product, the score
                // made "lower is closer"): only the first topK, and any tied with the k-th, can be answers.
                let last = found.count >= topK ? found[topK - 1].distance : .infinity
                for neighbor in found {
                    if neighbor.distance > last { break }
                    offer(neighbor.slot, score: space.score(query, norm: queryNorm, neighbor.slot), to: &top)
                }
            }
        }
        // Acknowledged writes the builder has not reached yet.
        ExactSearch.scan(
            self, slots: indexed..<mark.slots, query: SearchQuery(vector: vector, sparse: nil, topK: topK, filter: .everything), metric: space.metric,
            candidates: candidates, into: &top
        )
        return top.sorted()
    }

    /// An int8 graph's candidates rescored on their float vectors (read from the row file) in the estimated
    /// order, at least 2·topK of them, then only while the next estimate, less the largest error seen so far,
    /// could still beat the k-th exact answer. At 128 and 768 dimensions that stops at about 2·topK with the
    /// recall of rescoring all ef candidates; with few dimensions (coarser codes) it reads further.
    private func rescore(_ found: [Neighbor], query: UnsafePointer<Float>, norm queryNorm: Float, space: VectorSpace, into top: inout TopK) {
        var largestError: Float = 0
        for (rank, neighbor) in found.enumerated() {
            if rank >= Self.rescoredPerAnswer * top.k, let worst = top.worstScore,
                neighbor.distance - 2 * largestError > space.distance(fromScore: worst)
            {
                break
            }
            let score = space.score(query, norm: queryNorm, neighbor.slot)
            largestError = max(largestError, abs(neighbor.distance - space.distance(fromScore: score)))
            offer(neighbor.slot, score: score, to: &top)
        }
    }

    @inline(__always)
    private func offer(_ slot: UInt32, score: Float, to top: inout TopK) {
        if top.admits(score: score) { top.insert(ScoredID(id: store.ids[Int(slot)], score: score, slot: Int(slot))) }
    }
}

/// Graph nodes below `end`: what a search of a namespace without removals or a filter may answer with.
private struct SlotsBelow: NodeFilter {
    let end: Int

    @inline(__always)
    func accepts(_ slot: UInt32) -> Bool { Int(slot) < end }
}

/// Graph nodes the builder had reached that are live in a snapshot and among a filter's candidates.
private struct LiveMatches: NodeFilter {
    let snapshot: NamespaceSnapshot
    let indexed: Int
    let candidates: SlotSet?

    @inline(__always)
    func accepts(_ slot: UInt32) -> Bool {
        Int(slot) < indexed && snapshot.store.isLive(Int(slot), in: snapshot.mark) && (candidates?.contains(Int(slot)) ?? true)
    }
}
