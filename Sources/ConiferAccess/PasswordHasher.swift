import ConiferCore
import Crypto
import CryptoExtras
import Foundation
import Synchronization

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

/// Runs the password KDF off the request threads, one derivation at a time per lane, with a bounded
/// number of callers waiting (SECURITY.md rule 10).
///
/// scrypt takes a core for tens of milliseconds on purpose. On Swift's cooperative pool (as many threads
/// as cores) a handful of concurrent logins would stall every other request; here the work runs on
/// Dispatch queues of its own, so at most `lanes` cores hash at once and the rest keep serving. Past
/// `maxWaiting` callers the next one is refused at once with 429 instead of queueing without bound.
public final class PasswordHashingQueue: Sendable {
    private let lanes: [DispatchQueue]
    private let maxWaiting: Int
    private let waiting = Mutex(0)
    private let completed = Mutex(0)

    /// How many pieces of work have run (tests prove that a request did no password work).
    public var runs: Int { completed.withLock { $0 } }
    /// Callers admitted and not yet finished.
    public var admitted: Int { waiting.withLock { $0 } }

    /// By default half the cores (at least one) hash, and 32 callers may wait.
    public init(lanes: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2), maxWaiting: Int = 32) {
        self.lanes = (0..<max(1, lanes)).map { DispatchQueue(label: "conifer.password-hashing.\($0)") }
        self.maxWaiting = maxWaiting
    }

    /// Runs `work` on a hashing lane and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let ticket = waiting.withLock { count -> Int? in
            guard count < maxWaiting else { return nil }
            count += 1
            return count
        }
        guard let ticket else {
            throw ConiferError(.resourceExhausted, "Too many sign-ins are being checked at once; retry shortly.")
        }
        defer { waiting.withLock { $0 -= 1 } }
        let lane = lanes[ticket % lanes.count]
        return try await withCheckedThrowingContinuation { continuation in
            lane.async { [self] in
                let result = Result { try work() }
                self.completed.withLock { $0 += 1 }
                continuation.resume(with: result)
            }
        }
    }
}
