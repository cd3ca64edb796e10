import ConiferCore
import Foundation
import Synchronization

/// Requests per second allowed per index and operation class, and per project for control-plane calls.
/// Defaults follow Pinecone's serverless limits (docs.pinecone.io, "Rate limits": 100 per second for query,
/// upsert, update, delete and fetch, 200 for list); 0 means unlimited.
public struct RateLimits: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable {
        case upsert, query, fetch, update, delete, list
        /// Control-plane calls of a project (`/indexes`).
        case control
    }

    public var perSecond: [Operation: Double]

    public static let defaults = RateLimits(perSecond: [.upsert: 100, .query: 100, .fetch: 100, .update: 100, .delete: 100, .list: 200, .control: 100])

    /// `query=100,upsert=50,…` over `base`: the syntax of `--rate-limits` and `CONIFER_RATE_LIMITS`.
    public static func parse(_ text: String, over base: RateLimits = .defaults) throws(ConiferError) -> RateLimits {
        var limits = base
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let operation = Operation(rawValue: parts[0]), let rate = Double(parts[1]), rate >= 0, rate.isFinite else {
                throw .invalidArgument(
                    "Rate limits are name=requests-per-second pairs separated by commas, names among \(Operation.allCases.map(\.rawValue).joined(separator: ", ")); got '\(item.prefix(64))'."
                )
            }
            limits.perSecond[operation] = rate
        }
        return limits
    }
}

/// Token buckets, one per key (an index and operation class, or a project): each holds up to one second's
/// worth of requests (at least one) and refills continuously at the limit's rate, so bursts up to the limit pass and the
/// sustained rate never exceeds it. Taking a token is one step under a lock, so the limit holds under any
/// concurrency.
final class RateLimiter: Sendable {
    let limits: RateLimits
    private let buckets = Mutex<[String: Bucket]>([:])

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    init(limits: RateLimits) {
        self.limits = limits
    }

    /// Takes one request from the bucket of `operation` on `key`, or throws 429 with how long to wait.
    func take(_ operation: RateLimits.Operation, key: String, what: @autoclosure () -> String, now: ContinuousClock.Instant = .now) throws(ConiferError) {
        guard let rate = limits.perSecond[operation], rate > 0 else { return }
        let wait: Double? = buckets.withLock { buckets in
            let id = "\(operation.rawValue)\u{0}\(key)"
            let capacity = max(1, rate)
            var bucket = buckets[id] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer { buckets[id] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
        guard let wait else { return }
        let limit = rate == rate.rounded() ? String(Int(rate)) : String(rate)
        throw ConiferError(
            .resourceExhausted, "Request rate limit reached for \(operation.rawValue) requests on \(what()): \(limit) per second. Retry after the time in Retry-After.",
            retryAfterSeconds: max(1, Int(wait.rounded(.up)))
        )
    }
}
