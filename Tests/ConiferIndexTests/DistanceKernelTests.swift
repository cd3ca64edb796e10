import ConiferCore
@testable import ConiferIndex
import Testing

@Suite struct DistanceKernelTests {
    @Test func kernelsMatchScalarArithmetic() {
        for count in [1, 3, 8, 15, 16, 17, 33, 768] {
            let a = (0..<count).map { Float($0 % 7) - 3.25 }
            let b = (0..<count).map { Float(($0 * 5) % 11) * 0.5 - 2 }
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let l2 = zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            #expect(abs(DistanceKernels.dot(a, b) - dot) <= 1e-3 * max(1, abs(dot)), "\(count)")
            #expect(abs(DistanceKernels.squaredEuclidean(a, b) - l2) <= 1e-3 * max(1, l2), "\(count)")
        }
    }

    /// The int8 kernel (AVX2 lanes of 32 codes, then a scalar tail) against plain integer arithmetic, at
    /// the extremes of the code range (where a 16-bit product pair would overflow if it were summed in 16 bits).
    @Test func int8DotProductMatchesIntegerArithmetic() {
        var generator = SplitMix64(seed: 7)
        for count in [0, 1, 16, 31, 32, 33, 64, 100, 768] {
            let a = (0..<count).map { _ in Int8.random(in: -127...127, using: &generator) }
            let b = (0..<count).map { _ in Int8.random(in: -127...127, using: &generator) }
            let expected = zip(a, b).reduce(Int32(0)) { $0 + Int32($1.0) * Int32($1.1) }
            #expect(dotCodes(a, b, count: count) == expected, "\(count)")
            let extreme = [Int8](repeating: -127, count: count)
            #expect(dotCodes(extreme, extreme, count: count) == Int32(count) * 16_129, "\(count)")
        }
    }

    @Test func sparseDotProduct() {
        #expect(DistanceKernels.sparseDot(indices: [1, 5, 9], values: [1, 2, 3], indices: [0, 5, 9, 10], values: [7, 10, 100, 1]) == 320)
        #expect(DistanceKernels.sparseDot(indices: [], values: [], indices: [1], values: [1]) == 0)
    }
}
