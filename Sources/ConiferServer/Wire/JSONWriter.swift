import ConiferCore

/// Writes the data plane's large responses (fetch and query results, mostly numbers) straight into bytes,
/// producing what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` produces for the same wire
/// value (`WireWritingTests` compares them), several times faster.
///
/// Numbers print as Swift's shortest round-trip `description` without a trailing `.0` (so `3`, `1e-05`,
/// `1.2345679e+08`), strings escape `"`, `\` and control characters, and object keys are sorted.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// A number JSON cannot carry (NaN, infinity) was written: the bytes are not valid JSON.
    private(set) var invalid = false

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw(#"\""#)
            case UInt8(ascii: "\\"): raw(#"\\"#)
            case 0x0A: raw(#"\n"#)
            case 0x09: raw(#"\t"#)
            case 0x0D: raw(#"\r"#)
            case 0x08: raw(#"\b"#)
            case 0x0C: raw(#"\f"#)
            case 0..<0x20:
                raw(#"\u00"#)
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    mutating func number(_ value: Float) {
        invalid = invalid || !value.isFinite
        shortest(value.description)
    }

    mutating func number(_ value: Double) {
        invalid = invalid || !value.isFinite
        shortest(value.description)
    }

    mutating func number(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }

    /// `description` of a finite number, with a trailing `.0` dropped as JSONEncoder does.
    private mutating func shortest(_ text: String) {
        let utf8 = text.utf8
        if utf8.count > 2, utf8.suffix(2).elementsEqual(".0".utf8) {
            bytes.append(contentsOf: utf8.dropLast(2))
        } else {
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func floats(_ values: [Float]) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            number(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An object whose members are written by `members` in the order given (callers pass them sorted).
    mutating func object(_ members: (inout ObjectMembers) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        // The bytes move into the members' writer and back (swapped, never copied).
        var object = ObjectMembers(writer: JSONWriter(capacity: 0))
        swap(&object.writer, &self)
        members(&object)
        swap(&object.writer, &self)
        bytes.append(UInt8(ascii: "}"))
    }

    struct ObjectMembers {
        fileprivate var writer: JSONWriter
        private var first = true

        fileprivate init(writer: JSONWriter) {
            self.writer = writer
        }

        /// Writes `"key":` and then the value with `value`.
        mutating func member(_ key: String, _ value: (inout JSONWriter) -> Void) {
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
            writer.string(key)
            writer.bytes.append(UInt8(ascii: ":"))
            value(&writer)
        }
    }

    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): flag ? raw("true") : raw("false")
        case .number(let number): self.number(number)
        case .string(let text): string(text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            object { object in
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    object.member(key) { $0.value(member) }
                }
            }
        }
    }
}
