/// SIMD distance kernels over contiguous `Float` buffers of equal length.
public enum DistanceKernels {
    /// Σ aᵢbᵢ
    @inlinable
    public static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        let count = min(a.count, b.count)
        var sum0 = SIMD8<Float>()
        var sum1 = SIMD8<Float>()
        var i = 0
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        while i + 16 <= count {
            sum0 += load8(pa + i) * load8(pb + i)
            sum1 += load8(pa + i + 8) * load8(pb + i + 8)
            i += 16
        }
        var sum = (sum0 + sum1).sum()
        while i < count {
            sum += pa[i] * pb[i]
            i += 1
        }
        return sum
    }

    /// Σ (aᵢ − bᵢ)²
    @inlinable
    public static func squaredEuclidean(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        let count = min(a.count, b.count)
        var sum0 = SIMD8<Float>()
        var sum1 = SIMD8<Float>()
        var i = 0
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        while i + 16 <= count {
            let d0 = load8(pa + i) - load8(pb + i)
            let d1 = load8(pa + i + 8) - load8(pb + i + 8)
            sum0 += d0 * d0
            sum1 += d1 * d1
            i += 16
        }
        var sum = (sum0 + sum1).sum()
        while i < count {
            let d = pa[i] - pb[i]
            sum += d * d
            i += 1
        }
        return sum
    }

    @inlinable
    static func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa, pb) } }
    }

    public static func squaredEuclidean(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in squaredEuclidean(pa, pb) } }
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
