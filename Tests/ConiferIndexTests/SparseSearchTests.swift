import ConiferCore
import Foundation
@testable import ConiferIndex
import Testing

/// Sparse queries through the inverted index (MaxScore) against the exact scan of the same snapshot:
/// the same ids and the same scores, through overwrites, deletes and filters.
@Suite struct SparseSearchTests {
    /// A sparse vector over a Zipf-like vocabulary (a few common dimensions, many rare ones), some values
    /// negative.
    static func sparse(_ generator: inout SplitMix64, terms: Int) -> SparseVector {
        var pairs: [UInt32: Float] = [:]
        for _ in 0..<terms {
            let rank = Double(generator.next() % 10_000) / 10_000
            let index = UInt32(pow(rank, 3) * 2000)
            let value = Float(generator.next() % 1000) / 100 - (generator.next() % 8 == 0 ? 5 : 0)
            pairs[index] = value
        }
        let sorted = pairs.sorted { $0.key < $1.key }
        return SparseVector(indices: sorted.map(\.key), values: sorted.map(\.value))
    }

    @Test(arguments: [1, 10, 100])
    func theInvertedIndexMatchesTheExactScan(_ topK: Int) throws {
        var generator = SplitMix64(seed: UInt64(topK))
        var state = IndexState(settings: EngineSettings(metric: .dotproduct))
        for batch in 0..<8 {
            let records = (0..<500).map { _ in
                let id = "s\(generator.next() % 3000)"
                return VectorRecord(id: id, values: [], sparse: Self.sparse(&generator, terms: 30), metadata: ["half": .bool(generator.next() % 2 == 0)])
            }
            state.apply(.upsert(namespace: "", records: records))
            if batch % 2 == 1 { state.apply(.delete(namespace: "", ids: (0..<100).map { _ in "s\(generator.next() % 3000)" })) }
        }
        let namespace = try #require(state.view.snapshot(""))
        for round in 0..<40 {
            let filter: MetadataFilter = round % 4 == 3 ? .field("half", .equal(.bool(true))) : .everything
            var sparse = Self.sparse(&generator, terms: round % 2 == 0 ? 8 : 40)
            // Negative weights: the best records are those with negative values.
            if round % 5 == 4 { sparse.values = sparse.values.map { -$0 } }
            let query = SearchQuery(vector: nil, sparse: sparse, topK: topK, filter: filter)
            #expect(namespace.plan(query, metric: .dotproduct, candidates: namespace.candidates(filter)) == .sparseIndex)
            let exact = ExactSearch.search(namespace, query: query, metric: .dotproduct)
            #expect(namespace.search(query, metric: .dotproduct) == exact)
        }
    }

    @Test func aQueryWithNoKnownDimensionFindsNothing() throws {
        var state = IndexState(settings: EngineSettings(metric: .dotproduct))
        state.apply(.upsert(namespace: "", records: [VectorRecord(id: "a", values: [], sparse: SparseVector(indices: [1, 2], values: [1, 1]))]))
        let namespace = try #require(state.view.snapshot(""))
        let query = SearchQuery(vector: nil, sparse: SparseVector(indices: [3], values: [1]), topK: 5, filter: .everything)
        #expect(namespace.search(query, metric: .dotproduct).isEmpty)
    }
}
