import ConiferCore
import ConiferPrefetch

/// Scores and distances between queries and a namespace's stored dense vectors.
///
/// Each slot's row holds the vector's values; the norms are a column of their own. A score is what Pinecone returns: cosine similarity and dot product (higher is better),
/// squared euclidean distance (lower is better). A distance is the same order made "lower is closer" for
/// every metric, which is what the graph compares.
struct VectorSpace: Sendable {
    /// Per slot: `dimension` values (a row starts on a cache line when `dimension` is a multiple of 16).
    let rows: ChunkedBuffer<Float>
    /// Per slot: the row's L2 norm (a dense column: a scan reads it sequentially, a graph search mostly from
    /// cache), kept apart so a row is exactly the lines its values need.
    let norms = ChunkedBuffer<Float>()
    let dimension: Int
    let metric: Metric

    init(dimension: Int, metric: Metric) {
        rows = ChunkedBuffer(width: dimension)
        self.dimension = dimension
        self.metric = metric
    }

    @inline(__always)
    func vector(_ slot: UInt32) -> UnsafePointer<Float> {
        UnsafePointer(rows.pointer(Int(slot)))
    }

    @inline(__always)
    func norm(_ slot: UInt32) -> Float {
        norms[Int(slot)]
    }

    /// Requests a slot's whole row from memory ahead of computing with it.
    @inline(__always)
    func prefetch(_ slot: UInt32) {
        let row = UnsafeRawPointer(vector(slot))
        let bytes = dimension * MemoryLayout<Float>.stride
        var offset = 0
        while offset < bytes {
            conifer_prefetch(row + offset)
            offset &+= 64
        }
        conifer_prefetch(norms.pointer(Int(slot)))
    }

    /// Appends a row (the writer); values beyond `dimension` are ignored, missing ones are zero.
    func append(_ values: UnsafeBufferPointer<Float>) {
        let row = rows.appendSlot()
        let copied = min(values.count, dimension)
        if let base = values.baseAddress { row.initialize(from: base, count: copied) }
        (row + copied).initialize(repeating: 0, count: dimension - copied)
        norms.append(DistanceKernels.dot(row, row, count: dimension).squareRoot())
    }

    /// Pinecone's score of a stored vector for a query vector of norm `queryNorm`.
    @inline(__always)
    func score(_ query: UnsafePointer<Float>, norm queryNorm: Float, _ slot: UInt32) -> Float {
        score(query, norm: queryNorm, slot, metric: metric)
    }

    /// The score under another metric than the space's (an exact scan answers whatever the caller asks).
    @inline(__always)
    func score(_ query: UnsafePointer<Float>, norm queryNorm: Float, _ slot: UInt32, metric: Metric) -> Float {
        let stored = vector(slot)
        switch metric {
        case .dotproduct: return DistanceKernels.dot(query, stored, count: dimension)
        case .euclidean: return DistanceKernels.squaredEuclidean(query, stored, count: dimension)
        case .cosine:
            return DistanceKernels.dot(query, stored, count: dimension) / max(queryNorm * norm(slot), .leastNormalMagnitude)
        }
    }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, norm queryNorm: Float, _ slot: UInt32) -> Float {
        distance(fromScore: score(query, norm: queryNorm, slot))
    }

    /// The distance between two stored vectors.
    @inline(__always)
    func distance(_ a: UInt32, _ b: UInt32) -> Float {
        let row = vector(a)
        return distance(row, norm: norm(a), b)
    }

    @inline(__always)
    func distance(fromScore score: Float) -> Float {
        switch metric {
        case .cosine: 1 - score
        case .dotproduct: -score
        case .euclidean: score
        }
    }
}
