import ConiferCore
import ConiferKernels
import Synchronization

/// Where an int8 namespace keeps its float vectors: outside the process's heap (ConiferStorage's
/// encrypted, memory-mapped row file), read back to rescore answers and to scan.
public protocol VectorRows: AnyObject, Sendable {
    /// Appends the next slot's row of exactly the space's dimension (the writer only).
    func append(_ row: UnsafePointer<Float>)
    /// Copies a published slot's row into `buffer` (any thread).
    func read(_ slot: Int, into buffer: UnsafeMutablePointer<Float>)
}

/// Makes the row store of a new int8 namespace of `dimension` values (nil: keep the rows in memory).
public typealias VectorRowsFactory = @Sendable (_ dimension: Int) -> (any VectorRows)?

/// Scores and distances between queries and a namespace's stored dense vectors.
///
/// A score is what Pinecone returns: cosine similarity and dot product (higher is better), squared
/// euclidean distance (lower is better); it is always computed on the float vectors. A distance is the same
/// order made "lower is closer" for every metric, which is what the graph compares: on the float vectors
/// (`float32`), or on int8 codes (`int8`, `Codebook`), which the graph builder writes as it reaches slots.
/// Norms are a column of their own (a dense column: a scan reads it sequentially, a graph search mostly
/// from cache).
struct VectorSpace: Sendable {
    /// Per slot, `dimension` values (a row starts on a cache line when `dimension` is a multiple of 16),
    /// unless the rows live in `outside`.
    private let rows: ChunkedBuffer<Float>?
    private let outside: (any VectorRows)?
    let norms = ChunkedBuffer<Float>()
    /// The int8 codes the graph is walked on (int8 spaces).
    let codebook: Codebook?
    let dimension: Int
    let metric: Metric

    init(dimension: Int, metric: Metric, encoding: VectorEncoding = .float32, outside: VectorRowsFactory? = nil) {
        self.dimension = dimension
        self.metric = metric
        let outside = encoding == .int8 ? outside?(dimension) : nil
        self.outside = outside
        rows = outside == nil ? ChunkedBuffer(width: dimension) : nil
        codebook = encoding == .int8 ? Codebook(dimension: dimension) : nil
    }

    var encoding: VectorEncoding { codebook == nil ? .float32 : .int8 }

    /// Appends a row (the writer); values beyond `dimension` are ignored, missing ones are zero.
    func append(_ values: UnsafeBufferPointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { scratch in
            let row = rows?.appendSlot() ?? scratch.baseAddress!
            let copied = min(values.count, dimension)
            if let base = values.baseAddress { row.initialize(from: base, count: copied) }
            (row + copied).initialize(repeating: 0, count: dimension - copied)
            norms.append(DistanceKernels.dot(row, row, count: dimension).squareRoot())
            outside?.append(row)
        }
    }

    @inline(__always)
    func norm(_ slot: UInt32) -> Float {
        norms[Int(slot)]
    }

    /// Runs `body` on a slot's float values (read from the row store into a scratch row if they live there).
    @inline(__always)
    func withRow<R>(_ slot: UInt32, _ body: (UnsafePointer<Float>) -> R) -> R {
        if let rows { return body(UnsafePointer(rows.pointer(Int(slot)))) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { scratch in
            outside.unsafelyUnwrapped.read(Int(slot), into: scratch.baseAddress!)
            return body(scratch.baseAddress!)
        }
    }

    /// Pinecone's score of a stored vector for a query vector of norm `queryNorm`.
    @inline(__always)
    func score(_ query: UnsafePointer<Float>, norm queryNorm: Float, _ slot: UInt32) -> Float {
        score(query, norm: queryNorm, slot, metric: metric)
    }

    /// The score under another metric than the space's (an exact scan answers whatever the caller asks).
    @inline(__always)
    func score(_ query: UnsafePointer<Float>, norm queryNorm: Float, _ slot: UInt32, metric: Metric) -> Float {
        withRow(slot) { stored in
            switch metric {
            case .dotproduct: DistanceKernels.dot(query, stored, count: dimension)
            case .euclidean: DistanceKernels.squaredEuclidean(query, stored, count: dimension)
            case .cosine: DistanceKernels.dot(query, stored, count: dimension) / max(queryNorm * norm(slot), .leastNormalMagnitude)
            }
        }
    }

    // MARK: Distances for the graph

    /// A score as a distance: lower is closer for every metric.
    @inline(__always)
    func distance(fromScore score: Float) -> Float {
        switch metric {
        case .cosine: 1 - score
        case .dotproduct: -score
        case .euclidean: score
        }
    }

    /// What a graph walk measures distances from: a query, or a stored vector while it is linked.
    struct Probe {
        /// float32: the probe's values.
        var values: UnsafePointer<Float>?
        var norm: Float
        /// int8: the probe's codes, and the estimate of its dot product with a slot's row:
        /// `bias + termWeight · term[slot] + factor · Σ codes·code[slot]` (see `ScalarQuantizer`).
        var codes: UnsafePointer<Int8>?
        var bias: Float = 0
        var factor: Float = 0
        var termWeight: Float = 0
    }

    /// A stored slot as a probe (the builder, linking it).
    @inline(__always)
    func probe(_ slot: UInt32) -> Probe {
        guard let codebook else { return Probe(values: UnsafePointer(rows.unsafelyUnwrapped.pointer(Int(slot))), norm: norm(slot)) }
        let term = codebook.terms[Int(slot)]
        return Probe(
            norm: norm(slot), codes: codebook.codes(slot), bias: codebook.offsetNormSquared + codebook.scale * term,
            factor: codebook.scale * codebook.scale, termWeight: codebook.scale
        )
    }

    /// A query as a probe; int8 spaces write the query's codes into `codes` (`dimension` of them).
    func probe(query: UnsafePointer<Float>, norm queryNorm: Float, codes: UnsafeMutablePointer<Int8>) -> Probe {
        guard let codebook else { return Probe(values: query, norm: queryNorm) }
        let (bias, factor) = codebook.quantizer.prepare(query, into: codes)
        return Probe(norm: queryNorm, codes: codes, bias: bias, factor: factor)
    }

    @inline(__always)
    func distance(_ probe: Probe, _ slot: UInt32) -> Float {
        if let codes = probe.codes {
            let codebook = codebook.unsafelyUnwrapped
            let dot = probe.bias + probe.termWeight * codebook.terms[Int(slot)]
                + probe.factor * Float(dotCodes(codes, codebook.codes(slot), count: dimension))
            switch metric {
            case .cosine: return 1 - dot / max(probe.norm * norm(slot), .leastNormalMagnitude)
            case .dotproduct: return -dot
            case .euclidean:
                let stored = norm(slot)
                return probe.norm * probe.norm + stored * stored - 2 * dot
            }
        }
        let stored = UnsafePointer(rows.unsafelyUnwrapped.pointer(Int(slot)))
        let query = probe.values.unsafelyUnwrapped
        switch metric {
        case .dotproduct: return DotRows.distance(query, stored, dimension: dimension, queryNorm: probe.norm, rowNorm: norm(slot))
        case .euclidean: return EuclideanRows.distance(query, stored, dimension: dimension, queryNorm: probe.norm, rowNorm: norm(slot))
        case .cosine: return CosineRows.distance(query, stored, dimension: dimension, queryNorm: probe.norm, rowNorm: norm(slot))
        }
    }

    /// The distances from `probe` for a graph walk: specialized to the metric for float32 rows, `body` then
    /// compiles its loop around one metric's kernel (what a query's search spends its time in); int8 codes
    /// (and anything else) go through `distance(_:_:)`.
    @inline(__always)
    func withDistances<Result>(from probe: Probe, _ body: some DistanceUser<Result>) -> Result {
        guard let rows, codebook == nil, let values = probe.values else { return body.run(ProbeDistances(space: self, probe: probe)) }
        switch metric {
        case .cosine: return body.run(RowDistances<CosineRows>(rows: rows.addresses, norms: norms.addresses, query: values, queryNorm: probe.norm, dimension: dimension))
        case .dotproduct: return body.run(RowDistances<DotRows>(rows: rows.addresses, norms: norms.addresses, query: values, queryNorm: probe.norm, dimension: dimension))
        case .euclidean: return body.run(RowDistances<EuclideanRows>(rows: rows.addresses, norms: norms.addresses, query: values, queryNorm: probe.norm, dimension: dimension))
        }
    }

    /// The distance between two stored vectors.
    @inline(__always)
    func distance(_ a: UInt32, _ b: UInt32) -> Float {
        distance(probe(a), b)
    }

    /// Where the graph's distances to `slot` read its vector: its codes in an int8 space, else its row.
    @inline(__always)
    func address(of slot: UInt32) -> UnsafeRawPointer {
        if let codebook { return UnsafeRawPointer(codebook.codes(slot)) }
        return UnsafeRawPointer(rows.unsafelyUnwrapped.pointer(Int(slot)))
    }

    /// Requests what a distance to `slot` reads (its row or its codes at `address`, and its norm) ahead of
    /// computing it.
    @inline(__always)
    func prefetch(_ slot: UInt32, at address: UnsafeRawPointer) {
        let bytes: Int
        if let codebook {
            bytes = dimension
            conifer_prefetch(codebook.terms.pointer(Int(slot)))
        } else {
            bytes = dimension * MemoryLayout<Float>.stride
        }
        var offset = 0
        while offset < bytes {
            conifer_prefetch(address + offset)
            offset &+= 64
        }
        conifer_prefetch(norms.pointer(Int(slot)))
    }

    /// Gives slots `codebook.count..<end` their codes (the builder, before linking them), learning the
    /// quantizer from the rows below `sampleEnd` first if this is the first time.
    func encode(upTo end: Int, sampleEnd: Int) {
        guard let codebook else { return }
        if codebook.count == 0 {
            codebook.train(ScalarQuantizer(dimension: dimension) { visit in
                let stride = max(1, sampleEnd / Codebook.sampleSize)
                for slot in Swift.stride(from: 0, to: sampleEnd, by: stride) { withRow(UInt32(slot), visit) }
            })
        }
        while codebook.count < end {
            withRow(UInt32(codebook.count)) { codebook.append($0) }
        }
    }
}

/// Distances from one probe to stored slots: what a graph walk measures (lower is closer).
///
/// A walk asks where a slot's vector is (`address`), requests it from memory (`prefetch`) for all the
/// neighbours it is about to measure, then measures them at those addresses.
protocol Distances {
    /// Where `slot`'s stored vector (row or codes) starts.
    func address(of slot: UInt32) -> UnsafeRawPointer
    /// Requests what `distance(to:at:)` reads ahead of computing it.
    func prefetch(_ slot: UInt32, at address: UnsafeRawPointer)
    func distance(to slot: UInt32, at address: UnsafeRawPointer) -> Float
}

extension Distances {
    @inline(__always)
    func distance(to slot: UInt32) -> Float { distance(to: slot, at: address(of: slot)) }
}

/// Code that walks a graph with some `Distances` (a generic function the caller cannot pass as a closure).
protocol DistanceUser<Result> {
    associatedtype Result
    func run(_ distances: some Distances) -> Result
}

/// Any space's distances from a probe, choosing encoding and metric per call.
struct ProbeDistances: Distances {
    let space: VectorSpace
    let probe: VectorSpace.Probe

    @inline(__always)
    func address(of slot: UInt32) -> UnsafeRawPointer { space.address(of: slot) }

    @inline(__always)
    func prefetch(_ slot: UInt32, at address: UnsafeRawPointer) { space.prefetch(slot, at: address) }

    @inline(__always)
    func distance(to slot: UInt32, at address: UnsafeRawPointer) -> Float { space.distance(probe, slot) }
}

/// A float32 metric's distance between a probe and a stored row (the score made "lower is closer"; the
/// cosine score divides by the same clamped product of norms as `VectorSpace.score`, so the two agree).
protocol RowMetric {
    static func distance(
        _ probe: UnsafePointer<Float>, _ row: UnsafePointer<Float>, dimension: Int, queryNorm: Float, rowNorm: @autoclosure () -> Float
    ) -> Float
}

enum CosineRows: RowMetric {
    @inline(__always)
    static func distance(
        _ probe: UnsafePointer<Float>, _ row: UnsafePointer<Float>, dimension: Int, queryNorm: Float, rowNorm: @autoclosure () -> Float
    ) -> Float {
        1 - DistanceKernels.dot(probe, row, count: dimension) / max(queryNorm * rowNorm(), .leastNormalMagnitude)
    }
}

enum DotRows: RowMetric {
    @inline(__always)
    static func distance(
        _ probe: UnsafePointer<Float>, _ row: UnsafePointer<Float>, dimension: Int, queryNorm: Float, rowNorm: @autoclosure () -> Float
    ) -> Float {
        -DistanceKernels.dot(probe, row, count: dimension)
    }
}

enum EuclideanRows: RowMetric {
    @inline(__always)
    static func distance(
        _ probe: UnsafePointer<Float>, _ row: UnsafePointer<Float>, dimension: Int, queryNorm: Float, rowNorm: @autoclosure () -> Float
    ) -> Float {
        DistanceKernels.squaredEuclidean(probe, row, count: dimension)
    }
}

/// One metric's distances from a float probe to a float32 space's rows.
struct RowDistances<Metric: RowMetric>: Distances {
    let rows: ChunkedBuffer<Float>.Addresses
    let norms: ChunkedBuffer<Float>.Addresses
    let query: UnsafePointer<Float>
    let queryNorm: Float
    let dimension: Int

    @inline(__always)
    func address(of slot: UInt32) -> UnsafeRawPointer { UnsafeRawPointer(rows.pointer(Int(slot))) }

    /// Every cache line of the row (four per step: a row's last step may ask for lines after it, which is
    /// harmless), and the norm for cosine.
    @inline(__always)
    func prefetch(_ slot: UInt32, at address: UnsafeRawPointer) {
        let bytes = dimension &* MemoryLayout<Float>.stride
        var offset = 0
        repeat {
            conifer_prefetch(address + offset)
            conifer_prefetch(address + (offset &+ 64))
            conifer_prefetch(address + (offset &+ 128))
            conifer_prefetch(address + (offset &+ 192))
            offset &+= 256
        } while offset < bytes
        if Metric.self == CosineRows.self { conifer_prefetch(norms.pointer(Int(slot))) }
    }

    @inline(__always)
    func distance(to slot: UInt32, at address: UnsafeRawPointer) -> Float {
        Metric.distance(
            query, address.assumingMemoryBound(to: Float.self), dimension: dimension, queryNorm: queryNorm, rowNorm: norms.pointer(Int(slot)).pointee
        )
    }
}

/// An int8 space's codes: per slot, `dimension` codes and the term `Σ offsets·codes`, under one quantizer.
///
/// Only the graph builder writes: it learns the quantizer once, before the first code, then appends codes
/// in slot order before linking the slots; readers reach a slot's codes only through the graph, after that.
final class Codebook: @unchecked Sendable {
    /// Rows the quantizer learns ranges from (evenly spaced over the slots present when it is learnt).
    static let sampleSize = 16_384

    private let storage: ChunkedBuffer<Int8>
    let terms = ChunkedBuffer<Float>()
    /// Set once, before the first code is appended.
    private(set) var quantizer = ScalarQuantizer(dimension: 0) { _ in }
    private(set) var scale: Float = 1
    private(set) var offsetNormSquared: Float = 0

    init(dimension: Int) {
        storage = ChunkedBuffer(width: dimension)
    }

    /// Slots with codes.
    var count: Int { storage.count }

    @inline(__always)
    func codes(_ slot: UInt32) -> UnsafePointer<Int8> {
        UnsafePointer(storage.pointer(Int(slot)))
    }

    func train(_ quantizer: ScalarQuantizer) {
        precondition(storage.count == 0, "a codebook learns its quantizer before its first code")
        self.quantizer = quantizer
        scale = quantizer.scale
        offsetNormSquared = quantizer.offsetNormSquared
    }

    func append(_ row: UnsafePointer<Float>) {
        terms.append(quantizer.encode(row, into: storage.appendSlot()))
    }
}
