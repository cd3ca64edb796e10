import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Testing
@testable import ConiferStorage

@Suite struct WriteLogTests {
    let operations: [WriteOperation] = [
        .upsert(namespace: "ns", records: [
            VectorRecord(id: "a", values: [1, 2, 3], sparse: SparseVector(indices: [1, 9], values: [0.5, 0.25]),
                         metadata: ["g": .string("drama"), "n": .number(2.5), "b": .bool(true), "l": .strings(["x", "y"])]),
            VectorRecord(id: "b", values: [4, 5, 6]),
        ]),
        .delete(namespace: "ns", ids: ["b", "zz"]),
        .createNamespace("empty"),
        .deleteNamespace("gone"),
    ]

    @Test func roundTrip() throws {
        let bytes = WriteLog.encode(sequence: 7, operations: operations)
        #expect(try WriteLog.decode(bytes, expectedSequence: 7) == operations)
    }

    @Test func detectsEveryCorruptByteAndTruncation() throws {
        let bytes = WriteLog.encode(sequence: 3, operations: operations)
        // Every byte, each with a different bit flipped (all eight bit positions occur), and every truncation.
        for position in bytes.indices {
            var damaged = bytes
            damaged[position] ^= 1 << (position % 8)
            #expect(throws: (any Error).self, "byte \(position)") { try WriteLog.decode(damaged, expectedSequence: 3) }
        }
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) { try WriteLog.decode(Array(bytes.prefix(length)), expectedSequence: 3) }
        }
        #expect(throws: (any Error).self) { try WriteLog.decode(bytes, expectedSequence: 4) }
    }

    @Test func segmentRoundTrip() throws {
        var state = IndexState()
        state.apply(operations)
        let decoded = try SegmentFile.decode(SegmentFile.encode(state.view.frozen(), sequence: 42), settings: .init())
        #expect(decoded.sequence == 42)
        #expect(decoded.state.view.namespaceNames.sorted() == ["empty", "ns"])
        #expect(decoded.state.view.snapshot("empty")?.isExplicit == true)
        #expect(decoded.state.view.record(namespace: "ns", id: "a") == state.view.record(namespace: "ns", id: "a"))
        var damaged = SegmentFile.encode(state.view.frozen(), sequence: 42)
        damaged[20] ^= 1
        #expect(throws: (any Error).self) { try SegmentFile.decode(damaged, settings: .init()) }
    }

    /// A segment larger than the pieces it is streamed in (8 MiB): ids, vectors and metadata cross piece
    /// boundaries and every record comes back.
    @Test func largeSegmentRoundTrip() throws {
        var state = IndexState()
        let records = (0..<3000).map { i in
            VectorRecord(id: "r\(i)", values: (0..<768).map { Float(i &* 31 &+ $0) / 1000 }, metadata: ["i": .number(Double(i))])
        }
        state.apply(.upsert(namespace: "big", records: records))
        let bytes = SegmentFile.encode(state.view.frozen(), sequence: 7)
        #expect(bytes.count > 8 << 20)
        let decoded = try SegmentFile.decode(bytes, settings: .init()).state.view
        #expect(decoded.totalRecordCount == 3000)
        for i in [0, 1234, 2999] { #expect(decoded.record(namespace: "big", id: "r\(i)") == records[i]) }
    }
}
