import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Testing
@testable import ConiferStorage

/// Segments carry the HNSW graph: what compaction saves is what recovery loads, and answers do not change.
@Suite struct SegmentGraphTests {
    static let settings = EngineSettings(metric: .cosine, hnsw: HNSWParameters(m: 8, efConstruction: 60, efSearch: 48), graphThreshold: 0)

    /// Deterministic, well-spread vectors (a seeded stream of sines).
    static func vectors(_ count: Int, seed: UInt64) -> [[Float]] {
        (0..<count).map { i in (0..<12).map { j in sin(Float(seed) * 7.31 + Float(i) * 1.618 + Float(j) * Float(j + 3) * 0.917) } }
    }

    static func builtState(count: Int) -> IndexState {
        var state = IndexState(settings: settings)
        let records = vectors(count, seed: 3).enumerated().map { VectorRecord(id: "r\($0.offset)", values: $0.element, metadata: ["i": .number(Double($0.offset))]) }
        state.apply(.upsert(namespace: "ns", records: records))
        while state.view.buildGraphs(limit: .max) {}
        return state
    }

    static func answers(_ view: IndexView, _ queries: [[Float]]) -> [[ScoredID]] {
        queries.map { view.snapshot("ns")?.search(SearchQuery(vector: $0, sparse: nil, topK: 10, filter: .everything), metric: .cosine) ?? [] }
    }

    @Test func theSavedGraphIsLoadedAsSavedAndAnswersAreIdentical() throws {
        let state = Self.builtState(count: 1200)
        let saved = try #require(state.view.snapshot("ns")).image()
        #expect(saved.graph?.levels.count == 1200)
        let decoded = try SegmentFile.decode(SegmentFile.encode(state.view.frozen(), sequence: 9), settings: Self.settings)
        #expect(decoded.sequence == 9)
        #expect(decoded.state.view.unindexedCount == 0, "the graph was rebuilt, not loaded")
        #expect(try #require(decoded.state.view.snapshot("ns")).image() == saved)
        let queries = Self.vectors(30, seed: 99)
        #expect(Self.answers(decoded.state.view, queries) == Self.answers(state.view, queries))
    }

    /// Compaction drops removed records and relinks their neighbours; search over the loaded graph keeps
    /// recall against the exact scan.
    /// Mean number of level-0 links per node.
    static func meanDegree(_ graph: GraphImage?) -> Double {
        guard let graph, !graph.levels.isEmpty else { return 0 }
        var cursor = 0
        var total = 0
        for level in graph.levels {
            total += Int(graph.links[cursor])
            for _ in 0...Int(level) { cursor += 1 + Int(graph.links[cursor]) }
        }
        return Double(total) / Double(graph.levels.count)
    }

    @Test func compactionRepairsTheGraphAroundRemovedRecords() throws {
        var state = Self.builtState(count: 1500)
        let degreeBefore = Self.meanDegree(try #require(state.view.snapshot("ns")).image().graph)
        state.apply(.delete(namespace: "ns", ids: (0..<1500).filter { $0 % 4 == 0 }.map { "r\($0)" }))
        let decoded = try SegmentFile.decode(SegmentFile.encode(state.view.frozen(), sequence: 2), settings: Self.settings).state
        let namespace = try #require(decoded.view.snapshot("ns"))
        #expect(namespace.recordCount == 1125)
        #expect(decoded.view.unindexedCount == 0)
        let image = namespace.image()
        #expect(image.graph?.levels.count == 1125)
        #expect(image.graph?.isWellFormed(recordCount: 1125) == true)
        // Links to removed records were replaced by their neighbours, not just dropped (which loses a quarter).
        #expect(Self.meanDegree(image.graph) >= 0.9 * degreeBefore, "mean degree \(Self.meanDegree(image.graph)) vs \(degreeBefore)")
        var found = 0
        for query in Self.vectors(40, seed: 7) {
            let search = SearchQuery(vector: query, sparse: nil, topK: 10, filter: .everything)
            let exact = Set(ExactSearch.search(namespace, query: search, metric: .cosine).map(\.id))
            found += namespace.search(search, metric: .cosine).filter { exact.contains($0.id) }.count
        }
        #expect(Double(found) / 400 >= 0.95)
    }

    @Test func aDamagedGraphIsRefused() throws {
        var image = try #require(Self.builtState(count: 300).view.snapshot("ns")).image()
        var graph = try #require(image.graph)
        graph.links[1] = 300  // a link to a node that does not exist
        #expect(!graph.isWellFormed(recordCount: 300))
        image.graph = graph
        var other = try #require(image.graph)
        other.links[0] = UInt32(2 * other.m + 1)  // more links than a level holds
        #expect(!other.isWellFormed(recordCount: 300))
    }

    @Test func segmentsOfTheFirstFormatAreStillRead() throws {
        // CNFSEG01: sequence, one namespace "old" (not explicit) with one record, empty graph section.
        var writer = BinaryWriter()
        writer.bytes = SegmentFile.firstFormat
        writer.u64(5)
        writer.u32(1)
        writer.string("old")
        writer.u8(0)
        writer.u32(1)
        writer.record(VectorRecord(id: "a", values: [1, 2], metadata: ["k": .string("v")]))
        writer.u64(0)
        let decoded = try SegmentFile.decode(SegmentFile.sealed(writer.bytes), settings: .init())
        #expect(decoded.sequence == 5)
        #expect(decoded.state.view.record(namespace: "old", id: "a") == VectorRecord(id: "a", values: [1, 2], metadata: ["k": .string("v")]))
    }

    /// Through the store: after compaction and a restart the graph is there at once.
    @Test func aRestartedStoreLoadsItsGraph() async throws {
        let directory = TemporaryDirectory()
        let store = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: Self.settings, policy: .never, logger: Logger(label: "test"))
        let records = Self.vectors(800, seed: 5).enumerated().map { VectorRecord(id: "r\($0.offset)", values: $0.element) }
        _ = try await store.write(.upsert(namespace: "ns", records: records))
        await store.graphsBuilt()
        try await store.compact()
        let queries = Self.vectors(20, seed: 11)
        let before = Self.answers(try store.snapshot(), queries)
        let reopened = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: Self.settings, policy: .never, logger: Logger(label: "test"))
        #expect(try reopened.snapshot().unindexedCount == 0)
        #expect(Self.answers(try reopened.snapshot(), queries) == before)
    }

    /// After a load whose graph has caught up, the store asks to save it even though its log is small.
    @Test func aBuiltGraphIsCheckpointed() async throws {
        let directory = TemporaryDirectory()
        let policy = CompactionPolicy(maxLogFiles: .max, maxLogBytes: .max, graphCheckpoint: 500)
        let store = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: Self.settings, policy: policy, logger: Logger(label: "test"))
        let records = Self.vectors(800, seed: 5).enumerated().map { VectorRecord(id: "r\($0.offset)", values: $0.element) }
        _ = try await store.write(.upsert(namespace: "ns", records: Array(records.prefix(300))))
        await store.graphsBuilt()
        #expect(await !store.needsCompaction, "300 nodes are below the checkpoint")
        _ = try await store.write(.upsert(namespace: "ns", records: Array(records.dropFirst(300))))
        await store.graphsBuilt()
        #expect(await store.needsCompaction)
        try await store.compact()
        #expect(await !store.needsCompaction)
        _ = try await store.write(.upsert(namespace: "ns", records: [VectorRecord(id: "late", values: records[0].values)]))
        await store.graphsBuilt()
        #expect(await !store.needsCompaction, "one node since the checkpoint")
    }

    /// Overwrites and deletes keep their slots until a compaction rebuilds the namespace from its live
    /// records; writes acknowledged while it ran are in the rebuilt state too.
    @Test func compactionGivesBackTheMemoryOfRemovedRecords() async throws {
        let directory = TemporaryDirectory()
        let policy = CompactionPolicy(maxLogFiles: .max, maxLogBytes: .max, graphCheckpoint: .max, reclaimSlots: 100)
        let store = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: Self.settings, policy: policy, logger: Logger(label: "test"))
        for round in 1...20 {
            let records = (0..<50).map { VectorRecord(id: "r\($0)", values: Self.vectors(1, seed: UInt64(round * 100 + $0))[0], metadata: ["round": .number(Double(round))]) }
            _ = try await store.write(.upsert(namespace: "ns", records: records))
        }
        _ = try await store.write(.deleteIDs(namespace: "ns", ids: (0..<10).map { "r\($0)" }))
        let before = try #require(try store.snapshot().snapshot("ns"))
        #expect(before.slotCount == 1000)
        #expect(before.recordCount == 40)

        async let compaction: Void = store.compact()
        for i in 0..<20 {
            _ = try await store.write(.upsert(namespace: "ns", records: [VectorRecord(id: "late\(i)", values: Self.vectors(1, seed: UInt64(9000 + i))[0])]))
        }
        try await compaction

        let after = try #require(try store.snapshot().snapshot("ns"))
        #expect(after.slotCount == 60)
        #expect(after.recordCount == 60)
        #expect(after.ids(prefix: "late").count == 20)
        #expect(after.record("r3") == nil)
        #expect(after.record("r17")?.metadata["round"] == .number(20))
        #expect(after.record("r17")?.values == Self.vectors(1, seed: 2017)[0])
        // The old snapshot still answers as it did.
        #expect(before.record("r13")?.metadata["round"] == .number(20))
        #expect(before.slotCount == 1000)
        let reopened = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: Self.settings, policy: .never, logger: Logger(label: "test"))
        let reloaded = try #require(try reopened.snapshot().snapshot("ns"))
        #expect(reloaded.recordCount == 60)
        #expect(reloaded.ids(prefix: "") == after.ids(prefix: ""))
    }
}
