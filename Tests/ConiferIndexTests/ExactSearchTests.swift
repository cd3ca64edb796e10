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

@Suite struct ExactSearchTests {
    func namespace(_ records: [VectorRecord]) -> NamespaceState {
        var state = IndexState()
        state.apply(.upsert(namespace: "", records: records))
        return state.namespaces[""]!
    }

    @Test func cosineRanksByAngleAndBreaksTiesById() {
        let ns = namespace([
            VectorRecord(id: "b", values: [1, 0]),
            VectorRecord(id: "a", values: [2, 0]),
            VectorRecord(id: "c", values: [0, 1]),
            VectorRecord(id: "d", values: [1, 1]),
        ])
        let results = ExactSearch.search(ns, query: SearchQuery(vector: [1, 0], sparse: nil, topK: 3, filter: .everything), metric: .cosine)
        #expect(results.map(\.id) == ["a", "b", "d"])
        #expect(abs(results[0].score - 1) < 1e-6)
        #expect(abs(results[2].score - 0.70710677) < 1e-5)
    }

    @Test func euclideanReportsSquaredDistanceAscending() {
        let ns = namespace([
            VectorRecord(id: "far", values: [3, 4]),
            VectorRecord(id: "near", values: [1, 1]),
            VectorRecord(id: "same", values: [0, 0.5]),
        ])
        let results = ExactSearch.search(ns, query: SearchQuery(vector: [0, 0], sparse: nil, topK: 10, filter: .everything), metric: .euclidean)
        #expect(results.map(\.id) == ["same", "near", "far"])
        #expect(results.map(\.score) == [0.25, 2, 25])
    }

    @Test func filterIsAppliedBeforeRanking() {
        let records = (0..<100).map { i in
            VectorRecord(id: String(format: "id%03d", i), values: [Float(i), 1], metadata: ["even": .bool(i % 2 == 0)])
        }
        let results = ExactSearch.search(
            namespace(records),
            query: SearchQuery(vector: [1, 0], sparse: nil, topK: 10, filter: .field("even", .equal(.bool(false)))),
            metric: .dotproduct
        )
        #expect(results.count == 10)
        #expect(results.map(\.id) == (0..<10).map { String(format: "id%03d", 99 - 2 * $0) })
    }

    @Test func hybridAndSparseScores() {
        let ns = namespace([
            VectorRecord(id: "x", values: [1, 0], sparse: SparseVector(indices: [1, 2], values: [1, 1])),
            VectorRecord(id: "y", values: [1, 0], sparse: SparseVector(indices: [3], values: [5])),
            VectorRecord(id: "z", values: [0.5, 0]),
        ])
        let sparseQuery = SparseVector(indices: [2, 3], values: [1, 1])
        let hybrid = ExactSearch.search(ns, query: SearchQuery(vector: [1, 0], sparse: sparseQuery, topK: 3, filter: .everything), metric: .dotproduct)
        #expect(hybrid.map(\.id) == ["y", "x", "z"])
        #expect(hybrid.map(\.score) == [6, 2, 0.5])
        let sparseOnly = ExactSearch.search(ns, query: SearchQuery(vector: nil, sparse: sparseQuery, topK: 3, filter: .everything), metric: .dotproduct)
        #expect(sparseOnly.map(\.id) == ["y", "x"])
    }

    @Test(arguments: [Metric.cosine, .dotproduct, .euclidean])
    func parallelScanOfALargeNamespaceMatchesBruteForce(_ metric: Metric) {
        var generator = SystemRandomNumberGenerator()
        let records = (0..<20_000).map { i in
            VectorRecord(
                id: "r\(i)", values: (0..<8).map { _ in Float(Int.random(in: 1...9, using: &generator)) },
                metadata: ["bucket": .number(Double(i % 7))]
            )
        }
        let ns = namespace(records)
        let query = (0..<8).map { _ in Float(Int.random(in: 1...9, using: &generator)) }
        let filter = MetadataFilter.field("bucket", .notEqual(.number(3)))
        let results = ExactSearch.search(ns, query: SearchQuery(vector: query, sparse: nil, topK: 50, filter: filter), metric: metric)
        let norm = DistanceKernels.norm(query)
        let expected = records.filter { filter.matches($0.metadata) }.map { record -> ScoredID in
            let score: Float = switch metric {
            case .dotproduct: DistanceKernels.dot(query, record.values)
            case .euclidean: DistanceKernels.squaredEuclidean(query, record.values)
            case .cosine: DistanceKernels.dot(query, record.values) / (norm * DistanceKernels.norm(record.values))
            }
            return ScoredID(id: record.id, score: score)
        }
        let ranking = TopK(k: 50, lowerIsBetter: metric == .euclidean)
        #expect(results == Array(expected.sorted { ranking.isBetter($0, than: $1) }.prefix(50)))
    }

    @Test func topKMatchesSortingEverything() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let scores = (0..<200).map { ScoredID(id: "r\($0)", score: Float(Int.random(in: 0..<30, using: &generator))) }
            for lowerIsBetter in [false, true] {
                var top = TopK(k: 17, lowerIsBetter: lowerIsBetter)
                for candidate in scores { top.insert(candidate) }
                let expected = Array(scores.sorted { top.isBetter($0, than: $1) }.prefix(17))
                #expect(top.sorted() == expected)
            }
        }
    }
}
