import ConiferCore
import Foundation
import Testing
@testable import ConiferDatabase

/// The metrics tab's history, on a clock the test moves: requests and units land in their minute and hour, a window
/// shows its buckets oldest first with empty ones in between, old buckets are forgotten, latency percentiles
/// come from the bucket bounds, and record counts hold until the next one seen.
@Suite struct MetricsHistoryTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)  // a whole hour (and minute) in UTC

    @Test func requestsAndUnitsLandInTheirMinuteAndHour() {
        let history = MetricsHistory()
        history.record(.query, milliseconds: 0.3, at: start)
        history.record(.query, milliseconds: 3, at: start.addingTimeInterval(59))
        history.record(.upsert, milliseconds: 20, at: start.addingTimeInterval(60))
        history.charge(read: 0.25, write: 0, at: start.addingTimeInterval(10))
        history.charge(read: 0, write: 2, at: start.addingTimeInterval(125))

        let hour = history.window(.hour, now: start.addingTimeInterval(125))
        #expect(hour.count == 60 && hour.last?.start == start.addingTimeInterval(120))
        let first = hour[57], second = hour[58], third = hour[59]
        #expect(first.start == start && first.requests == [.query: 2] && first.readUnits == 0.25)
        #expect(second.requests == [.upsert: 1] && third.requests.isEmpty && third.writeUnits == 2)
        #expect(hour[0..<57].allSatisfy { $0.requests.isEmpty && $0.readUnits == 0 })

        let day = history.window(.day, now: start.addingTimeInterval(125))
        #expect(day.count == 24 && day.last?.start == start && day.last?.requests == [.query: 2, .upsert: 1] && day.last?.writeUnits == 2)
    }

    @Test func percentilesAreTheBoundsOfTheirBuckets() {
        var latencies = MetricsHistory.Latencies()
        #expect(latencies.upperBound(quantile: 0.5) == nil)
        for _ in 0..<98 { latencies.add(milliseconds: 0.4) }
        latencies.add(milliseconds: 40)
        latencies.add(milliseconds: 9000)
        #expect(latencies.upperBound(quantile: 0.5) == 0.5)
        #expect(latencies.upperBound(quantile: 0.99) == 50)
        #expect(latencies.upperBound(quantile: 1) == 2500, "the unbounded bucket reads as the largest bound")
    }

    @Test func bucketsOlderThanTheirWindowAreForgotten() {
        let history = MetricsHistory()
        history.record(.fetch, milliseconds: 1, at: start)
        let later = start.addingTimeInterval(2 * 3600)
        for minute in 0..<61 { history.record(.fetch, milliseconds: 1, at: later.addingTimeInterval(Double(minute * 60))) }
        let now = later.addingTimeInterval(60 * 60)
        let hour = history.window(.hour, now: now)
        #expect(hour.map { $0.requests[.fetch] ?? 0 } == Array(repeating: 1, count: 60), "the last hour, one request a minute")
        let day = history.window(.day, now: now)
        #expect(day.suffix(2).map { $0.requests[.fetch] ?? 0 } == [60, 1] && day[day.count - 4].requests[.fetch] == 1, "hour buckets stay a day")
        #expect(history.window(.day, now: start.addingTimeInterval(25 * 3600)).allSatisfy { $0.start > start }, "a day is the 24 hours up to now")
    }

    @Test func recordCountsHoldUntilTheNextOneSeen() {
        let history = MetricsHistory()
        history.observe(records: 5, at: start.addingTimeInterval(60))
        history.observe(records: 7, at: start.addingTimeInterval(90))
        history.observe(records: 3, at: start.addingTimeInterval(240))
        let hour = history.window(.hour, now: start.addingTimeInterval(300))
        #expect(hour[..<55].allSatisfy { $0.records == nil }, "nothing before the first count seen")
        #expect(hour[55...].map(\.records) == [7, 7, 7, 3, 3], "a minute's last count, carried over the minutes without one")
        #expect(history.window(.day, now: start.addingTimeInterval(300)).last?.records == 3)
    }
}
