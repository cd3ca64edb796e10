import ConiferKernels

/// int8 scalar quantization: `x[d] ≈ offsets[d] + scale · code[d]`, codes in −127…127.
///
/// One scale for every dimension (the widest dimension's half range over 127) and an offset per dimension
/// (the middle of its range), learnt from a sample of the namespace's vectors; values outside the sample's
/// range are clipped. One scale keeps every dot product an integer dot product of codes plus terms known in
/// advance:
/// - query · stored ≈ `q·offsets + scale · queryScale · Σ qcode[d]·code[d]`, the query quantized to codes
///   of its own scale (`queryScale = max|q[d]| / 127`, no offset);
/// - stored a · stored b = `|offsets|² + scale · (t_a + t_b) + scale² · Σ code_a[d]·code_b[d]`, where
///   `t = Σ offsets[d]·code[d]` is kept per slot.
/// Approximate distances only steer the graph walk: answers are rescored on the float vectors.
struct ScalarQuantizer: Sendable {
    let offsets: [Float]
    let scale: Float
    /// `|offsets|²`.
    let offsetNormSquared: Float

    /// Learns the ranges of the rows (`dimension` values each) that `sample` hands to its visitor.
    init(dimension: Int, sample: ((UnsafePointer<Float>) -> Void) -> Void) {
        var low = [Float](repeating: .infinity, count: dimension)
        var high = [Float](repeating: -.infinity, count: dimension)
        var rows = 0
        sample { row in
            rows += 1
            for d in 0..<dimension {
                low[d] = min(low[d], row[d])
                high[d] = max(high[d], row[d])
            }
        }
        if rows == 0 {
            low = [Float](repeating: 0, count: dimension)
            high = low
        }
        offsets = zip(low, high).map { ($0 + $1) / 2 }
        let halfRange = zip(low, high).map { ($1 - $0) / 2 }.max() ?? 0
        scale = halfRange > 0 ? halfRange / 127 : 1
        offsetNormSquared = DistanceKernels.dot(offsets, offsets)
    }

    /// Writes a row's codes; returns its term `Σ offsets[d]·code[d]`.
    func encode(_ row: UnsafePointer<Float>, into codes: UnsafeMutablePointer<Int8>) -> Float {
        var term: Float = 0
        for d in 0..<offsets.count {
            let code = Self.clamp(((row[d] - offsets[d]) / scale).rounded())
            codes[d] = code
            term += offsets[d] * Float(code)
        }
        return term
    }

    /// A query's codes (of the query's own scale) and the terms that turn their integer dot product with a
    /// stored row's codes into the dot product's estimate: `bias + factor · Σ qcode·code`.
    func prepare(_ query: UnsafePointer<Float>, into codes: UnsafeMutablePointer<Int8>) -> (bias: Float, factor: Float) {
        var largest: Float = 0
        for d in 0..<offsets.count { largest = max(largest, abs(query[d])) }
        let queryScale = largest > 0 ? largest / 127 : 1
        for d in 0..<offsets.count { codes[d] = Self.clamp((query[d] / queryScale).rounded()) }
        let bias = offsets.withUnsafeBufferPointer { DistanceKernels.dot(query, $0.baseAddress!, count: $0.count) }
        return (bias, scale * queryScale)
    }

    @inline(__always)
    private static func clamp(_ value: Float) -> Int8 {
        Int8(min(127, max(-127, value.isNaN ? 0 : value)))
    }
}

/// Σ a[i]·b[i] over int8 codes (AVX2 where built for it).
@inline(__always)
func dotCodes(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, count: Int) -> Int32 {
    conifer_dot_i8(a, b, count)
}
