import ConiferCore
import ConiferIndex
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

    @Test func sparseDotProduct() {
        #expect(DistanceKernels.sparseDot(indices: [1, 5, 9], values: [1, 2, 3], indices: [0, 5, 9, 10], values: [7, 10, 100, 1]) == 320)
        #expect(DistanceKernels.sparseDot(indices: [], values: [], indices: [1], values: [1]) == 0)
    }
}
