import ConiferCore
import Crypto
import Foundation

/// Generates API key values and the hashes stored in their place.
///
/// A key looks like `pcsk_<label>_<secret>`: the label identifies the key in listings, the secret carries
/// 256 bits from the system CSPRNG. Only a SHA-256 of the whole value is stored; a fast hash is enough for
/// values of this entropy (SECURITY.md rule 3).
public enum APIKeySecret {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    public static let labelLength = 8
    /// 43 base-62 characters carry log2(62) * 43 ≈ 256 bits.
    public static let secretLength = 43
    /// Operator-chosen bootstrap values must be at least this long.
    public static let minimumLength = 20

    /// Random base-62 text from the system's cryptographic generator.
    public static func randomText(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// A new key value and its public label.
    public static func generate() -> (value: String, label: String) {
        let label = randomText(length: labelLength)
        return ("pcsk_\(label)_\(randomText(length: secretLength))", label)
    }

    /// The label shown in listings for a value: the embedded label of a generated key, or a short
    /// hash-derived tag for an operator-chosen value.
    public static func label(of value: String) -> String {
        let parts = value.split(separator: "_", omittingEmptySubsequences: false)
        if parts.count == 3, parts[0] == "pcsk", parts[1].count == labelLength {
            return String(parts[1])
        }
        return String(hash(value).prefix(labelLength))
    }

    /// The stored form of a key value: lowercase hex SHA-256.
    public static func hash(_ value: String) -> String {
        var value = value
        return value.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }.lowercaseHex
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEquals(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices {
            difference |= a[i] ^ b[i]
        }
        return difference == 0
    }

    /// Whether a presented value could be a key at all: printable ASCII without spaces, bounded length.
    /// Checked before hashing so that junk headers are refused cheaply.
    public static func isPlausible(_ value: String) -> Bool {
        (1...256).contains(value.utf8.count) && value.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }
}
