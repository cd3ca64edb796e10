import ConiferCore
@testable import ConiferIndex
import Testing

/// Graphs walked on int8 codes: the quantizer's arithmetic, recall against the exact scan, exact (rescored)
/// scores, when the quantizer is learnt, and a namespace loaded from its image.
@Suite struct Int8SearchTests {
    typealias Fixture = HNSWSearchTests

    /// Codes reproduce each value within half a step, and the integer estimates of dot products are the
    /// float ones within the rounding they allow.
    @Test func quantizerEstimatesDotProducts() {
        var mixture = Fixture.Mixture(seed: 3)
        let rows = (0..<200).map { _ in mixture.vector() }
        let dimension = Fixture.dimension
        let quantizer = ScalarQuantizer(dimension: dimension) { visit in rows.forEach { $0.withUnsafeBufferPointer { visit($0.baseAddress!) } } }
        var codes = [[Int8]](repeating: [Int8](repeating: 0, count: dimension), count: rows.count)
        var terms: [Float] = []
        for (row, values) in rows.enumerated() {
            terms.append(values.withUnsafeBufferPointer { v in codes[row].withUnsafeMutableBufferPointer { quantizer.encode(v.baseAddress!, into: $0.baseAddress!) } })
            for d in 0..<dimension {
                let decoded = quantizer.offsets[d] + quantizer.scale * Float(codes[row][d])
                #expect(abs(decoded - values[d]) <= quantizer.scale / 2 * 1.001)
            }
        }
        // Stored against stored: exact for the decoded vectors.
        for (a, b) in [(0, 1), (5, 77), (150, 150)] {
            let decodedA = (0..<dimension).map { quantizer.offsets[$0] + quantizer.scale * Float(codes[a][$0]) }
            let decodedB = (0..<dimension).map { quantizer.offsets[$0] + quantizer.scale * Float(codes[b][$0]) }
            let estimate = quantizer.offsetNormSquared + quantizer.scale * (terms[a] + terms[b])
                + quantizer.scale * quantizer.scale * Float(dotCodes(codes[a], codes[b], count: dimension))
            #expect(abs(estimate - DistanceKernels.dot(decodedA, decodedB)) <= 1e-3 * max(1, abs(estimate)))
        }
        // A query against a stored row: within the query's and the row's rounding.
        let query = mixture.vector()
        var queryCodes = [Int8](repeating: 0, count: dimension)
        let (bias, factor) = query.withUnsafeBufferPointer { q in queryCodes.withUnsafeMutableBufferPointer { quantizer.prepare(q.baseAddress!, into: $0.baseAddress!) } }
        for row in [0, 42, 199] {
            let estimate = bias + factor * Float(dotCodes(queryCodes, codes[row], count: dimension))
            let exact = DistanceKernels.dot(query, rows[row])
            let bound = Float(dimension) * (quantizer.scale / 2 * query.map(abs).max()! + factor / 2 * rows[row].map(abs).max()!) * 1.01
            #expect(abs(estimate - exact) <= bound, "row \(row): \(estimate) vs \(exact)")
        }
    }

    @Test(arguments: [Metric.cosine, .dotproduct, .euclidean])
    func int8GraphsKeepRecallAndAnswerExactScores(_ metric: Metric) throws {
        var (state, mixture) = Fixture.built(metric, count: 3000, encoding: .int8)
        let namespace = try #require(state.view.snapshot(""))
        let codebook = try #require(namespace.store.graph?.space.codebook)
        #expect(codebook.count == 3000)
        let queries = (0..<60).map { _ in mixture.vector() }
        let recall = Fixture.recall(namespace, metric, queries: queries)
        #expect(recall >= 0.95, "recall@10 \(recall) for \(metric) on int8 codes")
        // Answers carry the float score, exactly as the scan computes it, never the codes' estimate.
        for vector in queries.prefix(10) {
            let query = SearchQuery(vector: vector, sparse: nil, topK: 5, filter: .everything)
            let exact = ExactSearch.search(namespace, query: query, metric: metric)
            let answer = namespace.search(query, metric: metric)
            #expect(namespace.plan(query, metric: metric, candidates: nil) == .graph)
            for result in answer {
                let stored = try #require(namespace.record(result.id))
                let expected = ExactSearch.search(namespace, query: SearchQuery(vector: vector, sparse: nil, topK: 3000, filter: .everything), metric: metric)
                    .first { $0.id == stored.id }
                #expect(result.score == expected?.score)
            }
            #expect(answer.map(\.id).first == exact.map(\.id).first)
        }
        _ = state
    }

    /// An int8 namespace builds no graph until it holds enough records to learn the quantizer from (they are
    /// scanned exactly meanwhile), then learns it from all of them.
    @Test func theQuantizerWaitsForEnoughRecords() throws {
        var mixture = Fixture.Mixture(seed: 9)
        var state = IndexState(settings: Fixture.settings(.cosine, encoding: .int8, graphThreshold: 1000))
        func add(_ range: Range<Int>) {
            state.apply(.upsert(namespace: "", records: range.map { VectorRecord(id: "r\($0)", values: mixture.vector()) }))
            while state.view.buildGraphs(limit: 256) {}
        }
        add(0..<600)
        let early = try #require(state.view.snapshot(""))
        #expect(early.store.graph?.indexed == 0 && early.store.graph?.space.codebook?.count == 0)
        let query = SearchQuery(vector: mixture.vector(), sparse: nil, topK: 10, filter: .everything)
        #expect(early.search(query, metric: .cosine) == ExactSearch.search(early, query: query, metric: .cosine))
        add(600..<1200)
        let later = try #require(state.view.snapshot(""))
        #expect(later.store.graph?.indexed == 1200 && later.store.graph?.space.codebook?.count == 1200)
        #expect(later.plan(query, metric: .cosine, candidates: nil) == .graph)
    }

    /// What compaction saves and recovery loads: the codes are made again from the loaded floats, and the
    /// loaded namespace answers as well, with writes after it joining the graph.
    @Test func aLoadedImageGetsItsCodesBack() throws {
        var (state, mixture) = Fixture.built(.cosine, count: 2000, encoding: .int8)
        let image = try #require(state.view.snapshot("")).image()
        var loaded = IndexState(settings: Fixture.settings(.cosine, encoding: .int8))
        loaded.restore("", from: image)
        loaded.apply(.upsert(namespace: "", records: (0..<300).map { VectorRecord(id: "n\($0)", values: mixture.vector()) }))
        while loaded.view.buildGraphs(limit: .max) {}
        let namespace = try #require(loaded.view.snapshot(""))
        #expect(namespace.store.graph?.space.codebook?.count == 2300 && namespace.store.graph?.indexed == 2300)
        let recall = Fixture.recall(namespace, .cosine, queries: (0..<60).map { _ in mixture.vector() })
        #expect(recall >= 0.95, "recall@10 \(recall) after loading")
        _ = state
    }
}
