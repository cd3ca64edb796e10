import ConiferCore
import Foundation
import Testing

@Suite struct MetadataFilterTests {
    static func filter(_ json: String) throws -> MetadataFilter {
        try MetadataFilter.parse(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    }

    let movie: Metadata = [
        "genre": .string("drama"),
        "year": .number(2019),
        "rated": .bool(true),
        "tags": .strings(["comedy", "documentary"]),
    ]

    @Test(arguments: [
        (#"{"genre":"drama"}"#, true),
        (#"{"genre":{"$eq":"drama"}}"#, true),
        (#"{"genre":{"$eq":"action"}}"#, false),
        (#"{"genre":{"$ne":"action"}}"#, true),
        (#"{"genre":{"$ne":"drama"}}"#, false),
        (#"{"year":{"$gt":2018}}"#, true),
        (#"{"year":{"$gt":2019}}"#, false),
        (#"{"year":{"$gte":2019}}"#, true),
        (#"{"year":{"$lt":2019}}"#, false),
        (#"{"year":{"$lte":2019}}"#, true),
        (#"{"year":2019}"#, true),
        (#"{"rated":true}"#, true),
        (#"{"rated":{"$ne":true}}"#, false),
        (#"{"genre":{"$in":["action","drama"]}}"#, true),
        (#"{"genre":{"$in":["action"]}}"#, false),
        (#"{"genre":{"$nin":["action"]}}"#, true),
        (#"{"genre":{"$nin":["drama"]}}"#, false),
        (#"{"year":{"$in":[2019, 2020]}}"#, true),
        (#"{"genre":{"$exists":true}}"#, true),
        (#"{"missing":{"$exists":false}}"#, true),
        (#"{"missing":{"$exists":true}}"#, false),
        // Lists match when any element does; $ne / $nin only when none does.
        (#"{"tags":"comedy"}"#, true),
        (#"{"tags":{"$in":["documentary","x"]}}"#, true),
        (#"{"tags":{"$ne":"comedy"}}"#, false),
        (#"{"tags":{"$ne":"horror"}}"#, true),
        (#"{"tags":{"$nin":["horror","comedy"]}}"#, false),
        (#"{"tags":{"$nin":["horror"]}}"#, true),
        // Missing fields match only negative conditions.
        (#"{"missing":"x"}"#, false),
        (#"{"missing":{"$ne":"x"}}"#, true),
        (#"{"missing":{"$nin":["x"]}}"#, true),
        (#"{"missing":{"$gt":1}}"#, false),
        // Type mismatches never compare equal.
        (#"{"year":"2019"}"#, false),
        (#"{"year":{"$ne":"2019"}}"#, true),
        (#"{"genre":{"$gt":1}}"#, false),
        (#"{"rated":1}"#, false),
        // Logic.
        (#"{"genre":"drama","year":2019}"#, true),
        (#"{"genre":"drama","year":2020}"#, false),
        (#"{"$and":[{"genre":"drama"},{"year":{"$gte":2000}}]}"#, true),
        (#"{"$or":[{"genre":"action"},{"year":{"$gte":2000}}]}"#, true),
        (#"{"$or":[{"genre":"action"},{"year":{"$lt":2000}}]}"#, false),
        (#"{"$and":[{"$or":[{"genre":"x"},{"rated":true}]},{"tags":"comedy"}]}"#, true),
        (#"{"year":{"$gt":2000,"$lt":2010}}"#, false),
        (#"{"year":{"$gt":2000,"$lt":2020}}"#, true),
        ("{}", true),
    ])
    func evaluates(_ json: String, _ expected: Bool) throws {
        #expect(try Self.filter(json).matches(movie) == expected, "\(json)")
    }

    @Test(arguments: [
        #"[]"#,
        #"{"$eq":"x"}"#,
        #"{"genre":{"$regex":"x"}}"#,
        #"{"genre":{}}"#,
        #"{"genre":null}"#,
        #"{"genre":["a","b"]}"#,
        #"{"genre":{"$gt":"a"}}"#,
        #"{"genre":{"$in":"a"}}"#,
        #"{"genre":{"$in":[true]}}"#,
        #"{"genre":{"$exists":"yes"}}"#,
        #"{"$and":[]}"#,
        #"{"$or":{"a":1}}"#,
        #"{"genre":{"$eq":{"a":1}}}"#,
    ])
    func rejectsInvalidFilters(_ json: String) {
        #expect(throws: ConiferError.self) { try Self.filter(json) }
    }

    @Test func rejectsDeepNesting() {
        var json = #"{"a":1}"#
        for _ in 0..<20 { json = #"{"$and":[\#(json)]}"# }
        #expect(throws: ConiferError.self) { try Self.filter(json) }
    }

    @Test func metadataValidation() throws {
        let ok = try Metadata.validated(["a": .string("x"), "b": .number(1), "c": .bool(false), "d": .array([.string("y")])])
        #expect(ok["d"] == .strings(["y"]))
        #expect(throws: ConiferError.self) { try Metadata.validated(["a": .null]) }
        #expect(throws: ConiferError.self) { try Metadata.validated(["a": .object([:])]) }
        #expect(throws: ConiferError.self) { try Metadata.validated(["a": .array([.number(1)])]) }
        #expect(throws: ConiferError.self) { try Metadata.validated(["$a": .string("x")]) }
        #expect(throws: ConiferError.self) { try Metadata.validated(["a": .string(String(repeating: "x", count: 41 * 1024))]) }
    }

    @Test func sparseValidation() throws {
        let sorted = try SparseVector.validated(indices: [5, 1], values: [0.5, 0.1])
        #expect(sorted.indices == [1, 5])
        #expect(sorted.values == [0.1, 0.5])
        #expect(throws: ConiferError.self) { try SparseVector.validated(indices: [1, 1], values: [1, 2]) }
        #expect(throws: ConiferError.self) { try SparseVector.validated(indices: [1], values: [1, 2]) }
        #expect(throws: ConiferError.self) { try SparseVector.validated(indices: [-1], values: [1]) }
        #expect(throws: ConiferError.self) { try SparseVector.validated(indices: [4_294_967_296], values: [1]) }
        _ = try SparseVector.validated(indices: [4_294_967_295], values: [1])
    }

    @Test func idAndDenseValidation() throws {
        try DataLimits.validateID(String(repeating: "a", count: 512))
        #expect(throws: ConiferError.self) { try DataLimits.validateID(String(repeating: "a", count: 513)) }
        #expect(throws: ConiferError.self) { try DataLimits.validateID("") }
        #expect(throws: ConiferError.self) { try DataLimits.validateID("é") }
        #expect(throws: ConiferError.self) { try DataLimits.validateDense([1, 2], dimension: 3) }
        #expect(throws: ConiferError.self) { try DataLimits.validateDense([0, 0, 0], dimension: 3) }
        #expect(throws: ConiferError.self) { try DataLimits.validateDense([.nan, 1, 1], dimension: 3) }
        try DataLimits.validateDense([0, 0, 1e-7], dimension: 3)
    }
}
