import ConiferCore
import Crypto
import CryptoExtras
import Foundation

/// Human passwords, stored with a slow, memory-hard KDF (scrypt, N = 2^15, r = 8, p = 1) and a random salt
/// (SECURITY.md rule 3). The stored form names its parameters: `scrypt$15$8$1$<salt>$<key>`.
public enum PasswordHasher {
    static let logN = 15
    static let blockSize = 8
    static let parallelism = 1
    public static let minimumLength = 12
    public static let maximumBytes = 256

    public static func validate(_ password: String) throws(ConiferError) {
        guard password.count >= minimumLength, password.utf8.count <= maximumBytes else {
            throw .invalidArgument("A password must be at least \(minimumLength) characters (and at most \(maximumBytes) bytes).")
        }
    }

    public static func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: .min ... .max, using: &generator) }
        let key = try derive(password, salt: salt, logN: logN, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(logN)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// Whether `password` matches a stored hash; compared in constant time.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              (10...20).contains(logN), let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              password.utf8.count <= maximumBytes,
              let key = try? derive(password, salt: [UInt8](salt), logN: logN, blockSize: r, parallelism: p)
        else { return false }
        return APIKeySecret.constantTimeEquals(Data(key).base64EncodedString(), Data(expected).base64EncodedString())
    }

    static func derive(_ password: String, salt: [UInt8], logN: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN,
            blockSize: blockSize, parallelism: parallelism, maxMemory: 128 << 20
        )
        return key.withUnsafeBytes { Array($0) }
    }
}
