extension Sequence<UInt8> {
    /// The bytes as lowercase hexadecimal, two digits each (written straight into the string's storage:
    /// `String(format:)` per byte costs more than the SHA-256 it usually follows).
    public var lowercaseHex: String {
        let bytes = Array(self)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for (i, byte) in bytes.enumerated() {
                buffer[2 * i] = digits.utf8Start[Int(byte >> 4)]
                buffer[2 * i + 1] = digits.utf8Start[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }
}
