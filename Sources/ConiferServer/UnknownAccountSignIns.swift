import Foundation
import Synchronization

/// Failed sign-ins naming accounts that do not exist, counted per source address in fixed windows so that
/// nobody without credentials can grow the audit log one row per request (SECURITY.md rule 15): the first such
/// failure of a window is recorded (with how many the source's previous window had), later ones only counted.
/// State is in memory and bounded like the sign-in throttle's.
final class UnknownAccountSignIns: Sendable {
    let window: TimeInterval
    let maxTracked: Int
    private let windows = Mutex<[String: (ends: Date, count: Int)]>([:])

    init(window: TimeInterval = 900, maxTracked: Int = 100_000) {
        self.window = window
        self.maxTracked = maxTracked
    }

    /// Counts one failure from `source`; returns whether it is the first of a window (to be recorded) and how many
    /// the source's previous window counted after its first (0 when none or long ago).
    func count(source: String, now: Date = Date()) -> (record: Bool, earlierUnrecorded: Int) {
        windows.withLock { windows in
            if let current = windows[source], current.ends > now {
                windows[source] = (current.ends, current.count + 1)
                return (false, 0)
            }
            if windows.count >= maxTracked {
                windows = windows.filter { $0.value.ends > now }
                if windows.count >= maxTracked, let oldest = windows.min(by: { $0.value.ends < $1.value.ends })?.key { windows[oldest] = nil }
            }
            let previous = windows[source].map { $0.count - 1 } ?? 0
            windows[source] = (now.addingTimeInterval(window), 1)
            return (true, previous)
        }
    }
}
