import ConiferCore
import Foundation
import Testing
@testable import ConiferServer

/// The upsert and query fast path (`JSONScanner`) against `JSONDecoder` on the same bytes: on every body
/// it accepts it must produce exactly what `JSONDecoder` produces, and it must accept the ordinary bodies
/// the SDKs send (otherwise it would be silently unused).
@Suite struct WireScanningTests {
    static func scanned<T: ScannableWire>(_ type: T.Type, _ body: String) -> T? {
        Array(body.utf8).withUnsafeBytes { bytes in JSONScanner.decode(bytes) { T.scan(&$0) } }
    }

    static func decoded<T: Decodable>(_ type: T.Type, _ body: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(body.utf8))
    }

    /// The fast path either gives up or agrees with JSONDecoder.
    static func agree<T: ScannableWire & Equatable>(_ type: T.Type, _ body: String) -> Bool {
        guard let fast = scanned(type, body) else { return true }
        return fast == decoded(type, body)
    }

    @Test func ordinaryBodiesTakeTheFastPathAndMatch() throws {
        let upserts = [
            #"{"vectors":[{"id":"a","values":[0.1,-2.5e-3,3,1E2],"metadata":{"genre":"drama","year":2020,"tags":["x","y"],"ok":true}}],"namespace":"ns"}"#,
            #"{ "vectors" : [ { "id" : "b" , "values" : [ ] } , {"id":"c","sparseValues":{"indices":[1,5],"values":[0.5,0.25]},"values":null} ] }"#,
            #"{"vectors":[{"id":"caf\u00e9 \ud83c\udf32 \"q\" \\ \/ \n","values":[1]}],"namespace":null,"extra":{"ignored":[1,{"x":null}]}}"#,
            #"{"vectors":[{"id":"m","values":[1,2],"metadata":null,"sparseValues":null}]}"#,
            // An ignored member holding an object of many keys.
            #"{"vectors":[{"id":"n","values":[1]}],"x":{"# + (0..<5000).map { #""k\#($0)":1"# }.joined(separator: ",") + "}}",
        ]
        for body in upserts {
            let fast = try #require(Self.scanned(UpsertRequestWire.self, body), "fast path gave up on \(body)")
            #expect(fast == Self.decoded(UpsertRequestWire.self, body))
        }
        let queries = [
            #"{"topK":10,"vector":[0.5,0.25],"includeValues":false,"includeMetadata":true,"namespace":"","filter":{"$and":[{"g":{"$eq":"x"}},{"n":{"$gte":1.5}}]}}"#,
            #"{"topK":3,"id":"r1","sparseVector":{"indices":[7],"values":[1.0]}}"#,
        ]
        for body in queries {
            let fast = try #require(Self.scanned(QueryRequestWire.self, body), "fast path gave up on \(body)")
            #expect(fast == Self.decoded(QueryRequestWire.self, body))
        }
    }

    /// Bodies where the fast path must give up (so JSONDecoder answers with its error or value).
    @Test func itGivesUpRatherThanGuess() {
        let refused = [
            #"{"vectors":[{"id":"a","values":[1e39]}]}"#,  // does not fit a Float
            #"{"vectors":[{"id":"a","values":[01]}]}"#,  // not JSON
            #"{"vectors":[{"id":"a","values":[1.]}]}"#,
            #"{"vectors":[{"id":"a","values":[1,]}]}"#,
            #"{"vectors":[{"id":"a","values":["1"]}]}"#,  // wrong type: JSONDecoder names the field
            #"{"vectors":[{"id":"a","id":"b"}]}"#,  // repeated key
            #"{"vectors":[{"id":"\ud800"}]}"#,  // lone surrogate
            "{\"vectors\":[{\"id\":\"tab\tinside\"}]}",  // raw control character
            #"{"vectors":[]} trailing"#,
            #"{"vectors":[{"values":[1]}]}"#,  // id missing
            #"{"namespace":"ns"}"#,
            "",
        ]
        for body in refused {
            #expect(Self.scanned(UpsertRequestWire.self, body) == nil, "accepted \(body)")
        }
        // A repeated key among many (the scanner switches to a set past 16 keys).
        let keys = (0..<5000).map { #""k\#($0)":1"# }.joined(separator: ",")
        #expect(Self.scanned(UpsertRequestWire.self, #"{"vectors":[],"x":{\#(keys),"k4999":2}}"#) == nil)
        #expect(Self.scanned(QueryRequestWire.self, #"{"topK":10.0,"vector":[1]}"#) == nil)
        #expect(Self.scanned(QueryRequestWire.self, #"{"topK":99999999999999999999}"#) == nil)
    }

    /// Seeded random bodies mixing valid and broken pieces: whatever the fast path accepts, JSONDecoder
    /// decodes to the same value.
    @Test func randomBodiesAgree() {
        var generator = LinearCongruential(seed: 2026)
        let numbers = ["0", "-0", "1", "-1.5", "3.4028235e38", "1e-45", "1e-50", "2.5E+3", "0.30000000000000004", "123456789012", "1e39", "-", "1e", ".5", "00"]
        let strings = [#""a""#, #""\u0041\t""#, #""é""#, #""\ud83c\udf32""#, #""\x""#, "\"\u{1}\"", #""""#]
        var accepted = 0
        for _ in 0..<2000 {
            func pick(_ options: [String]) -> String { options.randomElement(using: &generator)! }
            let values = (0..<Int.random(in: 0...4, using: &generator)).map { _ in pick(numbers) }.joined(separator: ",")
            let metadata = #"{"k":\#(pick(strings)),"n":\#(pick(numbers)),"l":[\#(pick(strings))]}"#
            let body = #"{"vectors":[{"id":\#(pick(strings)),"values":[\#(values)],"metadata":\#(metadata)}],"namespace":\#(pick(strings))}"#
            #expect(Self.agree(UpsertRequestWire.self, body), "\(body)")
            if Self.scanned(UpsertRequestWire.self, body) != nil { accepted += 1 }
        }
        #expect(accepted > 100)
    }

    /// `nearestFloat` (the parse without strtof) gives strtof's correctly rounded Float, bit for bit, or
    /// declines: on how clients print floats and doubles (shortest round-trip digits, as Python and the SDKs
    /// do), on digit strings of every length and exponent, and on halfway cases between two Floats.
    @Test func floatsParseAsStrtofParsesThem() {
        var generator = LinearCongruential(seed: 77)
        var tokens: [String] = ["0", "-0", "0.0", "1", "-1", "0.5", "1e22", "1e-22", "9999999999999999999", "0.30000000000000004", "16777217", "-2.5E+3"]
        for _ in 0..<20_000 {
            let float = Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator))
            tokens.append("\(Bool.random(using: &generator) ? "-" : "")\(float)")
            tokens.append("\(Double(float) * Double.random(in: 0.999...1.001, using: &generator))")
            tokens.append("\(Double.random(in: -1...1, using: &generator))")
            let digits = String((0..<Int.random(in: 1...21, using: &generator)).map { _ in "0123456789".randomElement(using: &generator)! })
            tokens.append("0.\(digits)e\(Int.random(in: -30...30, using: &generator))")
            // Exactly halfway between two Floats near 1 (a double that rounding to a Float must break by evenness).
            let near = Float.random(in: 1..<2, using: &generator)
            tokens.append("\((Double(near) + Double(near.nextUp)) / 2)")
        }
        var fast = 0
        for token in tokens {
            let expected = strtof(token, nil)
            let parsed = Array(token.utf8).withUnsafeBytes { JSONScanner.nearestFloat($0) }
            guard let parsed else { continue }
            fast += 1
            #expect(parsed.bitPattern == expected.bitPattern, "\(token): \(parsed) but strtof gives \(expected)")
        }
        // Short numbers within ±22 decimal orders take it (the midpoints and the long or far tokens do not), and
        // so does a vector component as Python prints it.
        #expect(fast > tokens.count / 3, "the fast path is taken (\(fast) of \(tokens.count))")
        #expect(Array("-0.4821939170360565".utf8).withUnsafeBytes { JSONScanner.nearestFloat($0) } == -0.4821939170360565)
    }
}

/// A seeded generator (Knuth's MMIX constants), so a failing body reproduces.
struct LinearCongruential: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}
