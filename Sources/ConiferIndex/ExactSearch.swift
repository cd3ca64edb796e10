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

    public init(vector: [Float]?, sparse: SparseVector?, topK: Int, filter: MetadataFilter) {
        self.vector = vector
        self.sparse = sparse
        self.topK = topK
        self.filter = filter
    }
}

/// Brute-force search over one namespace with the filter applied before ranking, so a query returns
/// `topK` results whenever that many records match.
///
/// Scores follow Pinecone: cosine similarity and dot product (higher is better), squared euclidean
/// distance for `euclidean` (lower is better, results ascending). A hybrid query on a dot-product index adds
/// the sparse dot product to the dense one. On a sparse index only records sharing an index with the query
/// are candidates. Large namespaces are scanned in parallel slices whose best results are merged.
public enum ExactSearch {
    /// Below this many records one thread is faster than splitting the scan.
    static let parallelThreshold = 16_384

    /// `slices` overrides how many parallel slices scan the namespace (tests force the merge path with it;
    /// by default large namespaces get one slice per core).
    public static func search(_ namespace: NamespaceState?, query: SearchQuery, metric: Metric, slices: Int? = nil) -> [ScoredID] {
        guard let namespace, query.topK > 0 else { return [] }
        let records = namespace.records
        let lowerIsBetter = metric == .euclidean && query.vector != nil
        let slices = min(records.count, slices ?? (records.count >= parallelThreshold ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1))
        guard slices > 1 else {
            return scan(records, records.startIndex..<records.endIndex, query: query, metric: metric).sorted()
        }
        // Slice boundaries over the dictionary's own index order.
        var cuts = [records.startIndex]
        let step = records.count / slices
        for _ in 1..<slices { cuts.append(records.index(cuts[cuts.count - 1], offsetBy: step)) }
        cuts.append(records.endIndex)
        let bounds = cuts
        let partials = Mutex<[[ScoredID]]>([])
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let best = scan(records, bounds[slice]..<bounds[slice + 1], query: query, metric: metric).sorted()
            partials.withLock { $0.append(best) }
        }
        var merged = TopK(k: query.topK, lowerIsBetter: lowerIsBetter)
        for candidate in partials.withLock({ $0 }).joined() { merged.insert(candidate) }
        return merged.sorted()
    }

    private static func scan(
        _ records: [String: StoredRecord], _ range: Range<Dictionary<String, StoredRecord>.Index>, query: SearchQuery, metric: Metric
    ) -> TopK {
        var top = TopK(k: query.topK, lowerIsBetter: metric == .euclidean && query.vector != nil)
        let filter = query.filter
        let filtering = !filter.isEmpty
        if let vector = query.vector {
            let queryNorm = DistanceKernels.norm(vector)
            vector.withUnsafeBufferPointer { q in
                for (id, stored) in records[range] {
                    if filtering, !filter.matches(stored.record.metadata) { continue }
                    var score = stored.record.values.withUnsafeBufferPointer { v -> Float in
                        switch metric {
                        case .dotproduct: DistanceKernels.dot(q, v)
                        case .euclidean: DistanceKernels.squaredEuclidean(q, v)
                        case .cosine: DistanceKernels.dot(q, v) / max(queryNorm * stored.norm, .leastNormalMagnitude)
                        }
                    }
                    if let sparse = query.sparse, let stored = stored.record.sparse {
                        score += DistanceKernels.sparseDot(indices: sparse.indices, values: sparse.values, indices: stored.indices, values: stored.values)
                    }
                    // Validated vectors cannot overflow (DataLimits.maxSquaredNorm); a record that could would
                    // never reach the wire with a non-finite score.
                    if score.isFinite, top.admits(score: score) { top.insert(ScoredID(id: id, score: score)) }
                }
            }
        } else if let sparse = query.sparse {
            let queryIndices = Set(sparse.indices)
            for (id, stored) in records[range] {
                guard let values = stored.record.sparse, values.indices.contains(where: queryIndices.contains) else { continue }
                if filtering, !filter.matches(stored.record.metadata) { continue }
                let score = DistanceKernels.sparseDot(indices: sparse.indices, values: sparse.values, indices: values.indices, values: values.values)
                if score.isFinite, top.admits(score: score) { top.insert(ScoredID(id: id, score: score)) }
            }
        }
        return top
    }
}
