import ConiferCore
import Foundation
import Testing
@testable import ConiferServer

/// The fetch and query fast path (`JSONWriter`) against `JSONEncoder` on the same wire values: the bytes
/// must be identical.
@Suite struct WireWritingTests {
    static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Array(try encoder.encode(value))
    }

    static func written(_ value: some WritableWire) -> [UInt8] {
        var writer = JSONWriter()
        value.write(to: &writer)
        return writer.bytes
    }

    static let records: [VectorRecord] = {
        var generator = LinearCongruential(seed: 7)
        let floats: [Float] = [0.1, 1e-5, 3, 1e20, -0.0, 123456.79, 1.1754944e-38, Float(bitPattern: 1), 3.4028235e38, 16777216, 1e7, 123456792]
        let doubles: [Double] = [2020, 2.5, 1e300, -0.0, 0.1, 1e-7, 9007199254740992, 1e16, 1e15, 1e21]
        let texts = ["plain", "quote \" and \\ back", "slash/ok", "ctl \u{1}\u{1f}\n\t\r\u{8}\u{c}", "é ✓ 🌲", "\u{7f}\u{2028}"]
        return (0..<40).map { i in
            VectorRecord(
                id: ["v9", "v10", "a", "B", "_x", "é"][i % 6] + "\(i)",
                values: (0..<Int.random(in: 0...6, using: &generator)).map { _ in floats.randomElement(using: &generator)! * (Bool.random(using: &generator) ? 1 : -1) },
                sparse: i % 3 == 0 ? SparseVector(indices: [1, 70_000, 4_000_000_000], values: [0.5, floats.randomElement(using: &generator)!, -2]) : nil,
                metadata: i % 4 == 0 ? [:] : [
                    "n": .number(doubles.randomElement(using: &generator)!), "s": .string(texts.randomElement(using: &generator)!),
                    "b": .bool(i % 2 == 0), "l": .strings([texts.randomElement(using: &generator)!, "x"]),
                ]
            )
        }
    }()

    @Test func queryResponsesAreByteForByteJSONEncoders() throws {
        for includeValues in [true, false] {
            for includeMetadata in [true, false] {
                let matches = Self.records.enumerated().map { i, record in
                    VectorOutWire(record, score: [0.5, -1e-7, 3, 0.333333343][i % 4], includeValues: includeValues, includeMetadata: includeMetadata)
                }
                let response = QueryResponseWire(matches: matches, namespace: "ns \"q\"", usage: UsageWire(readUnits: 5))
                #expect(Self.written(response) == (try Self.encoded(response)))
            }
        }
        let empty = QueryResponseWire(matches: [], namespace: "", usage: UsageWire(readUnits: 1))
        #expect(Self.written(empty) == (try Self.encoded(empty)))
    }

    @Test func fetchResponsesAreByteForByteJSONEncoders() throws {
        let vectors = Dictionary(uniqueKeysWithValues: Self.records.map { ($0.id, VectorOutWire($0)) })
        for pagination in [nil, PaginationWire(next: "dG9rZW4")] {
            let response = FetchResponseWire(vectors: vectors, namespace: "", usage: UsageWire(readUnits: 1), pagination: pagination)
            #expect(Self.written(response) == (try Self.encoded(response)))
        }
    }

    @Test func aNonFiniteScoreIsLeftToJSONEncoderWhichRefusesIt() throws {
        let response = QueryResponseWire(matches: [VectorOutWire(Self.records[1], score: .nan)], namespace: "", usage: UsageWire(readUnits: 1))
        #expect(throws: ConiferError.self) { try WireJSON.response(status: .ok, response) }
    }
}
