import ConiferCore
import Crypto
import Foundation

/// The local master key: 256 random bits from which the key-encryption key of every project without a
/// customer-managed key is derived, and which wraps the server's own data key (the keyring). It never
/// encrypts data itself.
public struct MasterKey: Sendable {
    let key: SymmetricKey
    /// Names the key without revealing it (the first 8 bytes of an HMAC of a fixed label, in hex): wrapped
    /// keys record it, so a wrong key is named as such rather than taken for damage.
    public let id: String

    public init(bytes: some ContiguousBytes) throws(SealError) {
        let key = SymmetricKey(data: bytes)
        guard key.bitCount == 256 else { throw SealError("a master key is 32 bytes (base64 or hex), got \(key.bitCount / 8)") }
        self.init(key: key)
    }

    private init(key: SymmetricKey) {
        self.key = key
        let mac = HMAC<SHA256>.authenticationCode(for: Array("conifer master key id".utf8), using: key)
        id = mac.prefix(8).lowercaseHex
    }

    public static func generate() -> MasterKey {
        MasterKey(key: SymmetricKey(size: .bits256))
    }

    /// Reads a key written as base64 or hex (64 digits), surrounding whitespace ignored.
    public static func parse(_ text: String) throws(SealError) -> MasterKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, trimmed.allSatisfy(\.isHexDigit) {
            let digits = Array(trimmed)
            let bytes = stride(from: 0, to: 64, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
            return try MasterKey(bytes: bytes)
        }
        guard let data = Data(base64Encoded: trimmed) else { throw SealError("a master key is 32 bytes written as base64 or 64 hex digits") }
        return try MasterKey(bytes: data)
    }

    /// The key as written to a key file: base64.
    public var encoded: String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The key-encryption key of a project's data keys: HKDF-SHA256 of the master key, one per project, so
    /// a data key wrapped for one project cannot be unwrapped as another's.
    public func projectKey(_ projectID: UUID) -> SymmetricKey {
        derived("project \(projectID.uuidString.lowercased())")
    }

    /// The key-encryption key of a shared catalog's own data key (a PostgreSQL catalog keeps it, wrapped, in a row).
    public var catalogKey: SymmetricKey { derived("catalog") }

    /// A key for one named use of the master key.
    func derived(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: Array("conifer kek v1".utf8), info: Array(purpose.utf8), outputByteCount: 32)
    }
}

/// Wrapping a data key (or any small secret) under a key-encryption key: AES-256-GCM with a random nonce,
/// bound by `context` to what it belongs to, so a wrapped key moved to another index does not open.
public enum KeyWrap {
    public static func wrap(_ secret: SymmetricKey, under kek: SymmetricKey, context: String) throws(SealError) -> [UInt8] {
        try seal(secret.withUnsafeBytes { Array($0) }, under: kek, context: context)
    }

    public static func unwrap(_ wrapped: [UInt8], under kek: SymmetricKey, context: String) throws(SealError) -> SymmetricKey {
        SymmetricKey(data: try open(wrapped, under: kek, context: context))
    }

    /// Seals a small value (a column, a wrapped key): nonce · ciphertext · tag.
    public static func seal(_ plaintext: some DataProtocol, under key: SymmetricKey, context: String) throws(SealError) -> [UInt8] {
        guard let combined = try? AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8)).combined else {
            throw SealError("could not seal a value (the key is not a 256-bit key)")
        }
        return Array(combined)
    }

    public static func open(_ sealed: some DataProtocol, under key: SymmetricKey, context: String) throws(SealError) -> [UInt8] {
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Array(context.utf8)))
        } catch {
            throw SealError("sealed value failed authentication (altered, or sealed under another key)")
        }
    }
}
