import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Testing
@testable import ConiferStorage

/// An int8 index's float vectors in the row file: read back as written, encrypted, leaving nothing on disk,
/// and answers through the store exact and unchanged by a compaction and a restart.
@Suite struct Int8StorageTests {
    static let logger = Logger(label: "test")

    /// 3,500 rows cross the first two chunks (1,024 and 2,048 rows) into the third.
    @Test func rowsReadBackAsWrittenEncryptedAndUnnamed() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        let rows = try #require(MappedVectorRows.make(directory: directory.url, dimension: 40, logger: Self.logger))
        let other = try #require(MappedVectorRows.make(directory: directory.url, dimension: 40, logger: Self.logger))
        let values = SegmentGraphTests.vectors(3500, seed: 4).map { $0 + $0 + $0 + Array($0.prefix(4)) }
        for row in values {
            row.withUnsafeBufferPointer { rows.append($0.baseAddress!) }
        }
        values[0].withUnsafeBufferPointer { other.append($0.baseAddress!) }
        var buffer = [Float](repeating: 0, count: 40)
        for slot in [0, 1, 1023, 1024, 3071, 3072, 3499] {
            buffer.withUnsafeMutableBufferPointer { rows.read(slot, into: $0.baseAddress!) }
            #expect(buffer == values[slot], "slot \(slot)")
        }
        // On disk: neither the floats nor the same bytes under another file's key; and no name to find.
        func stored(_ file: MappedVectorRows, _ slot: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 160)
            _ = bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, 160, off_t(slot * 160)) }
            return bytes
        }
        let plain = values[0].withUnsafeBytes { Array($0) }
        #expect(stored(rows, 0) != plain && stored(other, 0) != plain && stored(rows, 0) != stored(other, 0))
        #expect(stored(rows, 0).contains { $0 != 0 })
        #expect(directory.files("").isEmpty, "the row file has a name: \(directory.files(""))")
    }

    static func settings(directory: URL) -> EngineSettings {
        EngineSettings(metric: .cosine, hnsw: HNSWParameters(m: 8, efConstruction: 60, efSearch: 48), graphThreshold: 0, encoding: .int8) { dimension in
            MappedVectorRows.make(directory: directory, dimension: dimension, logger: logger)
        }
    }

    @Test func anInt8StoreAnswersExactScoresAcrossCompactionAndRestart() async throws {
        let directory = TemporaryDirectory()
        let settings = Self.settings(directory: directory.url)
        let store = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: settings, policy: .never, logger: Self.logger)
        let vectors = SegmentGraphTests.vectors(1500, seed: 8)
        _ = try await store.write(.upsert(namespace: "ns", records: vectors.enumerated().map { VectorRecord(id: "r\($0.offset)", values: $0.element) }))
        await store.graphsBuilt()
        let namespace = try #require(try store.snapshot().snapshot("ns"))
        #expect(try store.snapshot().graphNodeCount == 1500)
        #expect(namespace.record("r77")?.values == vectors[77])
        let queries = SegmentGraphTests.vectors(30, seed: 21)
        var found = 0
        for vector in queries {
            let query = SearchQuery(vector: vector, sparse: nil, topK: 10, filter: .everything)
            let exact = ExactSearch.search(namespace, query: query, metric: .cosine)
            let answer = namespace.search(query, metric: .cosine)
            // Every score is the float vectors' (the exact scan's), whatever the codes estimated.
            let exactScores = Dictionary(uniqueKeysWithValues: ExactSearch.search(namespace, query: SearchQuery(vector: vector, sparse: nil, topK: 1500, filter: .everything), metric: .cosine).map { ($0.id, $0.score) })
            #expect(answer.allSatisfy { exactScores[$0.id] == $0.score })
            found += answer.filter { result in exact.contains { $0.id == result.id } }.count
        }
        #expect(Double(found) / Double(queries.count * 10) >= 0.9)
        let before = SegmentGraphTests.answers(try store.snapshot(), queries)
        try await store.compact()
        let reopened = try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, settings: settings, policy: .never, logger: Self.logger)
        #expect(try reopened.snapshot().unindexedCount == 0)
        #expect(SegmentGraphTests.answers(try reopened.snapshot(), queries) == before)
        #expect(directory.files("").allSatisfy { !$0.hasPrefix("rows-") })
    }
}
