import Foundation
import Synchronization

/// What an index's requests did over time, for the console's metrics tab: one bucket per minute for the last hour and
/// one per hour for the last day, each with the requests per operation, a latency histogram, the units used and the
/// records the index held (seen after every write and whenever the tab is looked at). Kept
/// in memory beside the Prometheus counters (and, like them, empty when the process starts); times come from the
/// caller, so a test moves its own clock.
public final class MetricsHistory: Sendable {
    public enum Window: String, Sendable, CaseIterable {
        case hour, day

        /// The length of one bucket and how many the window shows.
        var bucketSeconds: Int { self == .hour ? 60 : 3600 }
        var buckets: Int { self == .hour ? 60 : 24 }
    }

    /// Request latencies in fixed buckets, by upper bound in milliseconds (the last one is unbounded).
    public struct Latencies: Sendable, Equatable {
        public static let bounds: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, .infinity]
        public var counts = [Int](repeating: 0, count: Latencies.bounds.count)

        public init() {}

        mutating func add(milliseconds: Double) {
            counts[Self.bounds.firstIndex { milliseconds <= $0 } ?? Self.bounds.count - 1] += 1
        }

        public mutating func merge(_ other: Latencies) {
            for index in counts.indices { counts[index] += other.counts[index] }
        }

        /// The upper bound of the bucket holding the `quantile` (0–1) of the requests (the largest finite bound for the
        /// unbounded bucket); nil without requests.
        public func upperBound(quantile: Double) -> Double? {
            let total = counts.reduce(0, +)
            guard total > 0 else { return nil }
            let rank = max(1, Int((quantile * Double(total)).rounded(.up)))
            var seen = 0
            for (index, count) in counts.enumerated() {
                seen += count
                if seen >= rank { return min(Self.bounds[index], Self.bounds[Self.bounds.count - 2]) }
            }
            return nil
        }
    }

    public struct Bucket: Sendable, Equatable {
        public var start: Date
        public var requests: [IndexMetrics.Operation: Int] = [:]
        public var latencies = Latencies()
        public var readUnits = 0.0
        public var writeUnits = 0.0
        /// The index's record count as last seen in the bucket; nil when none was seen (`window` carries the count
        /// before it forward, as records change only by writes, which are seen).
        public var records: Int?

        public init(start: Date) {
            self.start = start
        }
    }

    private struct State {
        var minutes: [Int: Bucket] = [:]
        var hours: [Int: Bucket] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds to the minute and the hour that `date` falls in, and forgets buckets older than their window.
    func add(at date: Date, _ change: (inout Bucket) -> Void) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let minute = seconds / 60
        let hour = seconds / 3600
        state.withLock { state in
            change(&state.minutes[minute, default: Bucket(start: Date(timeIntervalSince1970: Double(minute * 60)))])
            change(&state.hours[hour, default: Bucket(start: Date(timeIntervalSince1970: Double(hour * 3600)))])
            if state.minutes.count > Window.hour.buckets { state.minutes = state.minutes.filter { $0.key > minute - Window.hour.buckets } }
            if state.hours.count > Window.day.buckets { state.hours = state.hours.filter { $0.key > hour - Window.day.buckets } }
        }
    }

    func record(_ operation: IndexMetrics.Operation, milliseconds: Double, at date: Date) {
        add(at: date) { bucket in
            bucket.requests[operation, default: 0] += 1
            bucket.latencies.add(milliseconds: milliseconds)
        }
    }

    func charge(read: Double, write: Double, at date: Date) {
        add(at: date) { bucket in
            bucket.readUnits += read
            bucket.writeUnits += write
        }
    }

    func observe(records: Int, at date: Date) {
        add(at: date) { $0.records = records }
    }

    /// The window's buckets, oldest first, ending with the one `now` falls in; a bucket without requests is empty, and
    /// one where no record count was seen has the count of the one before it (none before the first count seen).
    public func window(_ window: Window, now: Date) -> [Bucket] {
        let last = Int(now.timeIntervalSince1970.rounded(.down)) / window.bucketSeconds
        let stored = state.withLock { window == .hour ? $0.minutes : $0.hours }
        var records: Int?
        return (last - window.buckets + 1...last).map { key in
            var bucket = stored[key] ?? Bucket(start: Date(timeIntervalSince1970: Double(key * window.bucketSeconds)))
            if bucket.records == nil { bucket.records = records } else { records = bucket.records }
            return bucket
        }
    }
}
