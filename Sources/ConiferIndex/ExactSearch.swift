import ConiferCore
import Dispatch
import Foundation
import Synchronization

/// What a query asks for, after validation against the index.
public struct SearchQuery: Sendable {
    public var vector: [Float]?
    public var sparse: SparseVector?
    public var topK: Int
    public var filter: MetadataFilter
    /// Graph candidates kept while searching, instead of the index's `efSearch` (never fewer than `topK`).
    public var ef: Int?

    public init(vector: [Float]?, sparse: SparseVector?, topK: Int, filter: MetadataFilter, ef: Int? = nil) {
        self.vector = vector
        self.sparse = sparse
        self.topK = topK
        self.filter = filter
        self.ef = ef
    }
}

/// Brute-force search over a namespace snapshot with the filter applied before ranking, so a query returns
/// `topK` results whenever that many records match.
///
/// Scores follow Pinecone: cosine similarity and dot product (higher is better), squared euclidean
/// distance for `euclidean` (lower is better, results ascending). A hybrid query on a dot-product index adds
/// the sparse dot product to the dense one. On a sparse index only records sharing an index with the query
/// are candidates. Large namespaces are scanned in parallel slices whose best results are merged.
public enum ExactSearch {
    /// Below this many slots one thread is faster than splitting the scan.
    static let parallelThreshold = 16_384

    /// `slices` overrides how many parallel slices scan the namespace (tests force the merge path with it;
    /// by default large scans get one slice per core). Without `candidates` each record's metadata is
    /// checked against the query's filter (the reference the metadata index is tested against); with them
    /// (the planner, from the metadata index) only the candidates are scored and the filter is not read.
    public static func search(_ namespace: NamespaceSnapshot?, query: SearchQuery, metric: Metric, slices: Int? = nil) -> [ScoredID] {
        search(namespace, query: query, metric: metric, slices: slices, candidates: nil)
    }

    static func search(_ namespace: NamespaceSnapshot?, query: SearchQuery, metric: Metric, slices: Int? = nil, candidates: SlotSet?) -> [ScoredID] {
        guard let namespace, query.topK > 0 else { return [] }
        let count = namespace.mark.slots
        let work = candidates?.count ?? count
        let lowerIsBetter = metric == .euclidean && query.vector != nil
        let slices = min(count, slices ?? (work >= parallelThreshold ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1))
        guard slices > 1 else {
            var top = TopK(k: query.topK, lowerIsBetter: lowerIsBetter)
            scan(namespace, slots: 0..<count, query: query, metric: metric, candidates: candidates, into: &top)
            return top.sorted()
        }
        let partials = Mutex<[[ScoredID]]>([])
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            var top = TopK(k: query.topK, lowerIsBetter: lowerIsBetter)
            let slots = count * slice / slices..<count * (slice + 1) / slices
            scan(namespace, slots: slots, query: query, metric: metric, candidates: candidates, into: &top)
            let best = top.sorted()
            partials.withLock { $0.append(best) }
        }
        var merged = TopK(k: query.topK, lowerIsBetter: lowerIsBetter)
        for candidate in partials.withLock({ $0 }).joined() { merged.insert(candidate) }
        return merged.sorted()
    }

    /// Offers the live slots of `slots` that are among `candidates` (or, without them, match the query's
    /// filter) to `top`.
    static func scan(
        _ namespace: NamespaceSnapshot, slots: Range<Int>, query: SearchQuery, metric: Metric, candidates: SlotSet?, into top: inout TopK
    ) {
        if let candidates {
            score(candidates.members(in: slots), of: namespace, query: query, filter: .everything, metric: metric, into: &top)
        } else {
            score(slots, of: namespace, query: query, filter: query.filter, metric: metric, into: &top)
        }
    }

    /// Scores the live slots of `slots` that match `filter` and offers them to `top` (generic, so each
    /// caller's loop is compiled whole).
    private static func score<Slots: Sequence>(
        _ slots: Slots, of namespace: NamespaceSnapshot, query: SearchQuery, filter: MetadataFilter, metric: Metric, into top: inout TopK
    ) where Slots.Element: BinaryInteger {
        let store = namespace.store
        let mark = namespace.mark
        // Without removals every slot below the watermark is live: no stamp to read.
        let checkLive = mark.liveCount != mark.slots
        let filtering = !filter.isEmpty
        if let vector = query.vector {
            guard let space = store.space, vector.count == space.dimension else { return }
            let queryNorm = DistanceKernels.norm(vector)
            let sparse = query.sparse
            vector.withUnsafeBufferPointer { buffer in
                guard let q = buffer.baseAddress else { return }
                for element in slots {
                    let slot = Int(element)
                    if checkLive, !store.isLive(slot, in: mark) { continue }
                    if filtering, !filter.matches(store.metadata[slot]) { continue }
                    var score = space.score(q, norm: queryNorm, UInt32(slot), metric: metric)
                    if let sparse, let stored = store.sparse[slot] {
                        score += DistanceKernels.sparseDot(indices: sparse.indices, values: sparse.values, indices: stored.indices, values: stored.values)
                    }
                    // Validated vectors cannot overflow (DataLimits.maxSquaredNorm); a record that could would
                    // never reach the wire with a non-finite score.
                    if score.isFinite, top.admits(score: score) { top.insert(ScoredID(id: store.ids[slot], score: score, slot: slot)) }
                }
            }
        } else if let sparse = query.sparse {
            let queryIndices = Set(sparse.indices)
            for element in slots {
                let slot = Int(element)
                if checkLive, !store.isLive(slot, in: mark) { continue }
                guard let values = store.sparse[slot], values.indices.contains(where: queryIndices.contains) else { continue }
                if filtering, !filter.matches(store.metadata[slot]) { continue }
                let score = DistanceKernels.sparseDot(indices: sparse.indices, values: sparse.values, indices: values.indices, values: values.values)
                if score.isFinite, top.admits(score: score) { top.insert(ScoredID(id: store.ids[slot], score: score, slot: slot)) }
            }
        }
    }
}
