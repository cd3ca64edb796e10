/// SIMD distance kernels over contiguous `Float` buffers of equal length.
///
/// The loops load 16 lanes at a time into two accumulators (a plain scalar loop is not vectorized: Swift
/// keeps strict floating-point order), and allocate nothing.
public enum DistanceKernels {
    /// Σ aᵢbᵢ over `count` elements.
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            sum0 = multiplyAdd(sum0, load16(a + i), load16(b + i))
            sum1 = multiplyAdd(sum1, load16(a + (i &+ 16)), load16(b + (i &+ 16)))
            i &+= 32
        }
        if i &+ 16 <= count {
            sum0 = multiplyAdd(sum0, load16(a + i), load16(b + i))
            i &+= 16
        }
        var sum = horizontalSum(sum0 + sum1)
        while i < count {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// Σ (aᵢ − bᵢ)² over `count` elements.
    @inlinable @inline(__always)
    public static func squaredEuclidean(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load16(a + i) - load16(b + i)
            let d1 = load16(a + (i &+ 16)) - load16(b + (i &+ 16))
            sum0 = multiplyAdd(sum0, d0, d0)
            sum1 = multiplyAdd(sum1, d1, d1)
            i &+= 32
        }
        if i &+ 16 <= count {
            let d0 = load16(a + i) - load16(b + i)
            sum0 = multiplyAdd(sum0, d0, d0)
            i &+= 16
        }
        var sum = horizontalSum(sum0 + sum1)
        while i < count {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }

    /// `sum + x · y`: one fused instruction per 8 lanes where the build targets FMA (Package.swift), a
    /// multiply and an add otherwise (a fused multiply-add without the hardware would be a library call).
    @inlinable @inline(__always)
    static func multiplyAdd(_ sum: SIMD16<Float>, _ x: SIMD16<Float>, _ y: SIMD16<Float>) -> SIMD16<Float> {
        #if CONIFER_AVX2
        sum.addingProduct(x, y)
        #else
        sum + x * y
        #endif
    }

    /// The sum of the lanes, as a tree of vector adds (the standard library's `sum()` adds the lanes one by
    /// one and is not inlined: measurably slower per distance).
    @inlinable @inline(__always)
    static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    @inlinable @inline(__always)
    static func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return 0 }
                return dot(x, y, count: min(pa.count, pb.count))
            }
        }
    }

    public static func squaredEuclidean(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return 0 }
                return squaredEuclidean(x, y, count: min(pa.count, pb.count))
            }
        }
    }

    public static func norm(_ a: [Float]) -> Float {
        dot(a, a).squareRoot()
    }

    /// Dot product of two sparse vectors whose indices are sorted ascending.
    public static func sparseDot(indices a: [UInt32], values av: [Float], indices b: [UInt32], values bv: [Float]) -> Float {
        var i = 0
        var j = 0
        var sum: Float = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                sum += av[i] * bv[j]
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return sum
    }
}
