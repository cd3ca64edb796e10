import ConiferCore
@testable import ConiferIndex
import Testing

@Suite struct ExactSearchTests {
    func namespace(_ records: [VectorRecord]) -> NamespaceSnapshot? {
        var state = IndexState()
        state.apply(.upsert(namespace: "", records: records))
        return state.view.snapshot("")
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

    /// The scan against a reference written here (Double arithmetic, a plain sort by score then id), with
    /// the number of parallel slices forced so the merge path runs even on a one-core machine.
    @Test(arguments: [Metric.cosine, .dotproduct, .euclidean])
    func slicedScansOfALargeNamespaceMatchBruteForce(_ metric: Metric) {
        var generator = SplitMix64(seed: 42)
        let records = (0..<20_000).map { i in
            VectorRecord(
                id: "r\(i)", values: (0..<8).map { _ in Float(Int.random(in: 1...9, using: &generator)) },
                metadata: ["bucket": .number(Double(i % 7))]
            )
        }
        let ns = namespace(records)
        let query = (0..<8).map { _ in Float(Int.random(in: 1...9, using: &generator)) }
        let q = query.map(Double.init)
        let reference: [(id: String, score: Double)] = records.filter { Int($0.id.dropFirst())! % 7 != 3 }.map { record in
            let v = record.values.map(Double.init)
            let dot = zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }
            let score = switch metric {
            case .dotproduct: dot
            case .euclidean: zip(q, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            case .cosine: dot / (q.reduce(0) { $0 + $1 * $1 }.squareRoot() * v.reduce(0) { $0 + $1 * $1 }.squareRoot())
            }
            return (record.id, score)
        }
        let best = reference.sorted { a, b in
            a.score != b.score ? (metric == .euclidean ? a.score < b.score : a.score > b.score) : a.id < b.id
        }.prefix(50)
        let scoreOf = Dictionary(uniqueKeysWithValues: reference.map { ($0.id, $0.score) })
        let filter = MetadataFilter.field("bucket", .notEqual(.number(3)))
        for slices in [1, 2, 7] {
            let results = ExactSearch.search(ns, query: SearchQuery(vector: query, sparse: nil, topK: 50, filter: filter), metric: metric, slices: slices)
            #expect(results.count == 50)
            #expect(Set(results.map(\.id)).count == 50, "duplicates with \(slices) slices")
            for (rank, (result, expected)) in zip(results, best).enumerated() {
                // Integer vectors make dot and squared distance exact in Float, so ranks (ties by id) must match
                // exactly; cosine rounds, so the record at each rank must have the rank's true score.
                if metric == .cosine {
                    #expect(abs(scoreOf[result.id]! - expected.score) < 1e-6, "rank \(rank), \(slices) slices: \(result.id)")
                } else {
                    #expect(result.id == expected.id, "rank \(rank), \(slices) slices")
                }
                #expect(abs(Double(result.score) - expected.score) <= 1e-5 * max(1, abs(expected.score)), "rank \(rank)")
            }
        }
    }

    @Test func topKMatchesSortingEverything() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<20 {
            let scores = (0..<200).map { ScoredID(id: "r\($0)", score: Float(Int.random(in: 0..<30, using: &generator)), slot: $0) }
            for lowerIsBetter in [false, true] {
                var top = TopK(k: 17, lowerIsBetter: lowerIsBetter)
                for candidate in scores { top.insert(candidate) }
                let expected = Array(scores.sorted { top.isBetter($0, than: $1) }.prefix(17))
                #expect(top.sorted() == expected)
            }
        }
    }
}
