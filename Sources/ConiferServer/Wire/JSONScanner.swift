import ConiferCore
import Foundation

/// A single-pass JSON reader for the data plane's large bodies (upsert and query), which are mostly arrays
/// of numbers: Foundation's `JSONDecoder` decodes a 1,000 × 768 upsert in about 0.3 s, this in a tenth.
///
/// It reads strict JSON (RFC 8259) and gives up — returns nil — on anything it does not expect, from
/// malformed JSON to a field of the wrong type or a number a `Float` cannot hold. The caller then decodes
/// the same bytes with `JSONDecoder`, which produces the one canonical value or error: the fast path
/// changes speed, never the answer.
struct JSONScanner {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Decodes a whole body with `read`, which must consume exactly one value; nil if anything is off.
    static func decode<T>(_ bytes: UnsafeRawBufferPointer, _ read: (inout JSONScanner) -> T?) -> T? {
        var scanner = JSONScanner(bytes)
        guard let value = read(&scanner) else { return nil }
        scanner.skipWhitespace()
        return scanner.offset == bytes.count ? value : nil
    }

    // MARK: Structure

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    private mutating func takeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        for i in 0..<count where bytes[offset + i] != literal.utf8Start[i] { return false }
        offset += count
        return true
    }

    /// Reads `null`, so an optional field can be absent in either way.
    mutating func null() -> Bool { takeLiteral("null") }

    /// Reads an object, calling `field` for each key with the scanner at its value; `field` must consume the
    /// value and return false to give up. A repeated key gives up (decoders disagree on which one wins).
    mutating func object(_ field: (String, inout JSONScanner) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        if take(UInt8(ascii: "}")) { return true }
        var seen = SeenKeys()
        repeat {
            guard let key = string(), seen.insert(key), take(UInt8(ascii: ":")), field(key, &self) else { return false }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    /// The keys of one object so far: a short list for the usual handful, a set once there are many, so a
    /// body with a huge object costs linear time, not quadratic.
    private struct SeenKeys {
        private var few: [String] = []
        private var many: Set<String>?

        /// Adds a key; false if it was already there.
        mutating func insert(_ key: String) -> Bool {
            if many != nil { return many?.insert(key).inserted ?? false }
            guard !few.contains(key) else { return false }
            few.append(key)
            if few.count == 16 { many = Set(few) }
            return true
        }
    }

    /// Reads an array, calling `element` with the scanner at each element.
    mutating func array(_ element: (inout JSONScanner) -> Bool) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        if take(UInt8(ascii: "]")) { return true }
        repeat {
            guard element(&self) else { return false }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]"))
    }

    // MARK: Values

    mutating func bool() -> Bool? {
        if takeLiteral("true") { return true }
        if takeLiteral("false") { return false }
        return nil
    }

    /// A string without escapes is sliced straight out of the body; escapes are decoded, and anything
    /// invalid (a raw control character, a lone surrogate, bad UTF-8) gives up.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                defer { offset += 1 }
                return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            offset += 1
        }
        return nil
    }

    private mutating func escapedString(from start: Int) -> String? {
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { return nil }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard take(UInt8(ascii: "\\")), offset < bytes.count, bytes[offset] == UInt8(ascii: "u") else { return nil }
                        offset += 1
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default: return nil
                }
            default:
                guard byte >= 0x20 else { return nil }
                utf8.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Character(Unicode.Scalar(bytes[offset])).hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// The text of a number token, checked against JSON's number grammar.
    private mutating func numberToken() -> UnsafeRawBufferPointer? {
        skipWhitespace()
        let start = offset
        func digits() -> Int {
            let first = offset
            while offset < bytes.count, (0x30...0x39).contains(bytes[offset]) { offset += 1 }
            return offset - first
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let integer = offset
        guard digits() > 0, bytes[integer] != UInt8(ascii: "0") || offset - integer == 1 else { return nil }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard digits() > 0 else { return nil }
        }
        if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { return nil }
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
    }

    /// A number as the nearest `Float` (correctly rounded: `nearestFloat`, or `strtof` where that cannot
    /// tell); nil if it does not fit — too large, or so small it would round to zero (JSONDecoder refuses both).
    mutating func float() -> Float? {
        guard let token = numberToken() else { return nil }
        return Self.nearestFloat(token) ?? Self.number(token) { strtof($0, nil) }
    }

    mutating func double() -> Double? {
        numberToken().flatMap { Self.number($0) { strtod($0, nil) } }
    }

    /// The nearest `Float` to a number token of at most 19 significant digits and a decimal exponent within
    /// ±22 (every vector component a client prints), without `strtof`, which costs more than the rest of a
    /// query's decoding: the significand and an exact power of ten give a double within 2^-52 of the number,
    /// and when both ends of a 2^-50 interval around it round to the same normal `Float`, so does the number.
    /// Nil when the token is outside that range or the interval straddles a rounding boundary.
    static func nearestFloat(_ token: UnsafeRawBufferPointer) -> Float? {
        var at = 0
        let negative = token.first == UInt8(ascii: "-")
        if negative { at = 1 }
        var significand: UInt64 = 0
        var digits = 0
        var exponent = 0
        var fraction = false
        while at < token.count {
            let byte = token[at]
            if byte == UInt8(ascii: ".") {
                fraction = true
            } else if byte &- 0x30 < 10 {
                if significand != 0 || byte != 0x30 { digits += 1 }  // leading zeros are not significant
                guard digits <= 19 else { return nil }
                significand = significand * 10 + UInt64(byte &- 0x30)
                if fraction { exponent -= 1 }
            } else {
                break  // the exponent's "e"
            }
            at += 1
        }
        if at < token.count {
            at += 1
            var sign = 1
            if token[at] == UInt8(ascii: "-") { sign = -1 }
            if token[at] == UInt8(ascii: "-") || token[at] == UInt8(ascii: "+") { at += 1 }
            var written = 0
            while at < token.count {
                written = written * 10 + Int(token[at] &- 0x30)
                guard written <= 1000 else { return nil }
                at += 1
            }
            exponent += sign * written
        }
        if significand == 0 { return negative ? -0.0 : 0 }
        guard (-22...22).contains(exponent) else { return nil }
        let magnitude = exponent < 0 ? Double(significand) / exactPowersOfTen[-exponent] : Double(significand) * exactPowersOfTen[exponent]
        let margin = magnitude * 0x1p-50
        let low = Float(magnitude - margin)
        guard low.isNormal, low == Float(magnitude + margin) else { return nil }
        return negative ? -low : low
    }

    /// 10^0 through 10^22, each exactly a `Double`.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// A number token converted by a C parser, if the result is finite and not a non-zero number rounded to zero.
    private static func number<T: BinaryFloatingPoint>(_ token: UnsafeRawBufferPointer, _ convert: (UnsafePointer<CChar>) -> T) -> T? {
        guard token.count < 400 else { return nil }
        let value = withUnsafeTemporaryAllocation(of: CChar.self, capacity: token.count + 1) { text -> T in
            for i in 0..<token.count { text[i] = CChar(bitPattern: token[i]) }
            text[token.count] = 0
            return text.baseAddress.map { convert(UnsafePointer($0)) } ?? .nan
        }
        guard value.isFinite else { return nil }
        return value != 0 || !Self.hasNonZeroDigit(token) ? value : nil
    }

    /// Whether the significand (before any exponent) has a digit other than 0.
    private static func hasNonZeroDigit(_ token: UnsafeRawBufferPointer) -> Bool {
        for byte in token {
            if byte | 0x20 == UInt8(ascii: "e") { return false }
            if (0x31...0x39).contains(byte) { return true }
        }
        return false
    }

    /// An integer without fraction or exponent.
    mutating func int64() -> Int64? {
        guard let token = numberToken(), !token.contains(UInt8(ascii: ".")), !token.contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) else { return nil }
        return Int64(String(decoding: token, as: UTF8.self))
    }

    mutating func int() -> Int? { int64().flatMap { Int(exactly: $0) } }

    mutating func floats() -> [Float]? {
        var values: [Float] = []
        values.reserveCapacity(1024)
        let complete = array { scanner in
            guard let value = scanner.float() else { return false }
            values.append(value)
            return true
        }
        return complete ? values : nil
    }

    /// Any JSON value (metadata, filters). Numbers are `Double`, as `JSONValue`'s own decoder reads them.
    mutating func value(depth: Int = 0) -> JSONValue? {
        guard depth < 64 else { return nil }
        skipWhitespace()
        guard offset < bytes.count else { return nil }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            var object: [String: JSONValue] = [:]
            let complete = self.object { key, scanner in
                guard let value = scanner.value(depth: depth + 1) else { return false }
                object[key] = value
                return true
            }
            return complete ? .object(object) : nil
        case UInt8(ascii: "["):
            var array: [JSONValue] = []
            let complete = self.array { scanner in
                guard let value = scanner.value(depth: depth + 1) else { return false }
                array.append(value)
                return true
            }
            return complete ? .array(array) : nil
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return bool().map(JSONValue.bool)
        case UInt8(ascii: "n"): return null() ? .null : nil
        default: return double().map(JSONValue.number)
        }
    }

    // MARK: Repeated keys

    /// The first key repeated within one object anywhere in `bytes` (compared after unescaping, so `"id"` and
    /// `"\u0069d"` are the same key), or nil when there is none or the body is not JSON this reads (the decoder
    /// then reports that). Decoders disagree on which of two values wins, so a proxy in front could read a body
    /// differently from Conifer: every decoder refuses such bodies (SECURITY.md rule 16).
    static func repeatedKey(in bytes: UnsafeRawBufferPointer) -> String? {
        var scanner = JSONScanner(bytes)
        var repeated: String?
        _ = scanner.skipValue(depth: 0, repeated: &repeated)
        return repeated
    }

    /// Consumes one value of any kind, noting the first repeated key; false when it is not JSON (or too deep).
    private mutating func skipValue(depth: Int, repeated: inout String?) -> Bool {
        guard depth < 512, repeated == nil else { return false }
        skipWhitespace()
        guard offset < bytes.count else { return false }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            if take(UInt8(ascii: "}")) { return true }
            var seen = SeenKeys()
            repeat {
                guard let key = string() else { return false }
                guard seen.insert(key) else {
                    repeated = key
                    return false
                }
                guard take(UInt8(ascii: ":")), skipValue(depth: depth + 1, repeated: &repeated) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            return array { $0.skipValue(depth: depth + 1, repeated: &repeated) }
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return bool() != nil
        case UInt8(ascii: "n"): return null()
        default: return numberToken() != nil
        }
    }
}
