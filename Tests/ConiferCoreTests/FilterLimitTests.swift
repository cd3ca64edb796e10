import ConiferCore
import Foundation
import Testing

/// Finding 4 of issue 7: a filter is bounded before it is evaluated.
@Suite struct FilterLimitTests {
    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func clausesAreCountedAcrossTheWholeFilter() throws {
        let half = 500  // the documented limit: 1,000 clauses
        let atLimit = (0..<half).map { #"{"n":\#($0)}"# }.joined(separator: ",")
        #expect(throws: Never.self) { try MetadataFilter.parse(try Self.json(#"{"$or":[\#(atLimit)]}"#)) }
        let over = (0...half).map { #"{"n":\#($0)}"# }.joined(separator: ",")
        #expect(throws: ConiferError.self) { try MetadataFilter.parse(try Self.json(#"{"$or":[\#(over)]}"#)) }
        // Operators on one field count one clause each; empty members count too.
        let operators = (0..<1001).map { _ in "{}" }.joined(separator: ",")
        #expect(throws: ConiferError.self) { try MetadataFilter.parse(try Self.json(#"{"$and":[\#(operators)]}"#)) }
    }

    @Test func valuesAreCountedAcrossEveryList() throws {
        // The documented limit: 10,000 values across all lists.
        let half = (0..<5000).map(String.init).joined(separator: ",")
        #expect(throws: Never.self) { try MetadataFilter.parse(try Self.json(#"{"a":{"$in":[\#(half)]},"b":{"$nin":[\#(half)]}}"#)) }
        #expect(throws: ConiferError.self) { try MetadataFilter.parse(try Self.json(#"{"a":{"$in":[\#(half)]},"b":{"$nin":[\#(half),1]}}"#)) }
    }

    @Test func setMembershipKeepsListSemantics() throws {
        let filter = try MetadataFilter.parse(try Self.json(#"{"tags":{"$in":["x","y"]},"n":{"$nin":[1,2]}}"#))
        #expect(filter.matches(["tags": .strings(["a", "y"]), "n": .number(3)]))
        #expect(!filter.matches(["tags": .strings(["a"]), "n": .number(3)]))
        #expect(!filter.matches(["tags": .string("x"), "n": .number(2)]))
        #expect(filter.matches(["tags": .string("x")]))
    }
}
