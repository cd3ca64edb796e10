import ConiferCore
import Foundation
import Synchronization

/// Requests per second allowed per operation class, and what each class is counted by. A self-hosted server
/// belongs to its operator, so by default nothing is limited; `pinecone` is Pinecone's serverless table
/// (docs.pinecone.io, "Rate limits": 100 per second per namespace for query, upsert, update and delete; 100 per
/// index for fetch and describe_index_stats, 200 for list; 100 per project on the control plane).
public struct RateLimits: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable {
        /// Data plane, per index (or per namespace, see `perNamespace`).
        case upsert, query, fetch, update, delete, list
        /// `describe_index_stats`, per index.
        case stats
        /// The namespace routes (list, create, describe, delete), per index.
        case namespaces
        /// Control-plane calls (indexes, backups, restore jobs, schedules, collections, Prometheus), per project.
        case control
        /// Admin API calls, per organization.
        case admin
        /// Sign-ins and invitation acceptances, per source address.
        case signin
    }

    /// 0 or absent: unlimited.
    public var perSecond: [Operation: Double]
    /// Data-plane classes counted per namespace of an index rather than per index.
    public var perNamespace: Set<Operation>

    public init(perSecond: [Operation: Double], perNamespace: Set<Operation> = []) {
        self.perSecond = perSecond
        self.perNamespace = perNamespace
    }

    /// Nothing limited: the default.
    public static let unlimited = RateLimits(perSecond: [:])
    public static let defaults = unlimited
    /// Pinecone's serverless limits, `--rate-limits pinecone`.
    public static let pinecone = RateLimits(
        perSecond: [.upsert: 100, .query: 100, .update: 100, .delete: 100, .fetch: 100, .list: 200, .stats: 100, .control: 100],
        perNamespace: [.upsert, .query, .update, .delete]
    )

    /// The syntax of `--rate-limits` and `CONIFER_RATE_LIMITS`: comma-separated items, each `pinecone` (Pinecone's
    /// table) or `name=requests-per-second` (0 unlimited), later items over earlier ones, all over `base`.
    public static func parse(_ text: String, over base: RateLimits = .defaults) throws(ConiferError) -> RateLimits {
        var limits = base
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            if item.trimmingCharacters(in: .whitespaces) == "pinecone" {
                limits = .pinecone
                continue
            }
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let operation = Operation(rawValue: parts[0]), let rate = Double(parts[1]), rate >= 0, rate.isFinite else {
                throw .invalidArgument(
                    "Rate limits are 'pinecone' or name=requests-per-second items separated by commas, names among \(Operation.allCases.map(\.rawValue).joined(separator: ", ")); got '\(item.prefix(64))'."
                )
            }
            limits.perSecond[operation] = rate
        }
        return limits
    }
}

/// Token buckets, one per key (an index and operation class, a namespace, a project, an organization or a source
/// address): each holds up to one second's worth of requests (at least one) and refills continuously at the
/// limit's rate, so bursts up to the limit pass and the sustained rate never exceeds it. Taking a token is one
/// step under a lock, so the limit holds under any concurrency. Time comes from `clock` (a clock the test moves
/// in tests). Buckets that have refilled are dropped when there are many, so keys a client makes up cost nothing
/// for long.
final class RateLimiter: Sendable {
    /// The server's limits (`--rate-limits`).
    let server: RateLimits
    /// Each plan's (`--starter-rate-limits` …), over the server's.
    let plans: [Plan: RateLimits]
    let clock: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())
    /// Projects' limits as parsed over their plans', by plan and text (few distinct ones).
    private let parsed = Mutex<[String: RateLimits]>([:])
    static let pruneAbove = 10_000

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var rate: Double
    }

    struct State {
        var buckets: [String: Bucket] = [:]
        /// Past this many buckets the full ones are dropped; it grows with the buckets still in use, so a busy
        /// server does not scan them on every request.
        var pruneAbove = RateLimiter.pruneAbove
    }

    init(limits: RateLimits, plans: [Plan: RateLimits] = [:], clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.server = limits
        self.plans = plans
        self.clock = clock
    }

    /// The limits a project's requests are counted against: the operator's for the project (`conifer org rate-limits`),
    /// item by item over its plan's, over the server's.
    func limits(plan: Plan?, project: String?) -> RateLimits {
        let base = plan.flatMap { plans[$0] } ?? server
        guard let project, !project.isEmpty else { return base }
        let key = "\(plan?.rawValue ?? "")\u{0}\(project)"
        if let known = parsed.withLock({ $0[key] }) { return known }
        // Stored texts were checked when set; one that no longer parses leaves the plan's limits.
        let limits = (try? RateLimits.parse(project, over: base)) ?? base
        parsed.withLock { $0[key] = limits }
        return limits
    }

    /// Takes one request from the bucket of `operation` on `key`, or throws 429 with how long to wait.
    func take(
        _ operation: RateLimits.Operation, key: String, what: @autoclosure () -> String, limits: RateLimits? = nil, now: ContinuousClock.Instant? = nil
    ) throws(ConiferError) {
        let limits = limits ?? server
        guard let rate = limits.perSecond[operation], rate > 0 else { return }
        let now = now ?? clock()
        let wait: Double? = state.withLock { state in
            if state.buckets.count > state.pruneAbove {
                Self.prune(&state.buckets, now: now)
                state.pruneAbove = max(Self.pruneAbove, state.buckets.count * 2)
            }
            let id = "\(operation.rawValue)\u{0}\(key)"
            let capacity = max(1, rate)
            var bucket = state.buckets[id] ?? Bucket(tokens: capacity, updated: now, rate: rate)
            bucket.rate = rate
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer { state.buckets[id] = bucket }
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

    /// Drops the buckets that would be full by now (as good as new).
    private static func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return bucket.tokens + seconds * bucket.rate < max(1, bucket.rate)
        }
    }
}
