import ConiferCore
import Foundation
import Synchronization

/// Counts failed sign-ins per account and per source address and refuses further attempts for a while
/// once either passes its limit (SECURITY.md rule 10), before any password work is done.
///
/// Fixed windows: an account may fail `accountLimit` times per `accountWindow`, a source `sourceLimit`
/// times per `sourceWindow`; past that every attempt is refused, right or wrong, until the window ends.
/// A success clears the account's count (not the source's). Unknown accounts count like known ones, so
/// throttling does not reveal which exist. Service-account sign-ins pass no account: their client ids are not
/// secret and their secrets are long random strings nobody guesses, so a per-account count would only let
/// anyone lock a service out by its client id; they are counted by source only. State is in memory and bounded: past `maxTracked` keys the
/// expired ones are dropped, and if none are, the oldest.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var accountLimit: Int
        public var accountWindow: TimeInterval
        public var sourceLimit: Int
        public var sourceWindow: TimeInterval
        public var maxTracked: Int

        public init(accountLimit: Int = 10, accountWindow: TimeInterval = 900, sourceLimit: Int = 30, sourceWindow: TimeInterval = 60, maxTracked: Int = 100_000) {
            self.accountLimit = accountLimit
            self.accountWindow = accountWindow
            self.sourceLimit = sourceLimit
            self.sourceWindow = sourceWindow
            self.maxTracked = maxTracked
        }
    }

    private struct Window {
        var failures: Int
        var ends: Date
    }

    public let policy: Policy
    private let windows = Mutex<[String: Window]>([:])

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Seconds to wait before trying again, or nil when an attempt may go ahead.
    public func retryAfter(account: String?, source: String, now: Date = Date()) -> Int? {
        windows.withLock { windows in
            let counted = [account.map { (Self.accountKey($0), policy.accountLimit) }, (Self.sourceKey(source), policy.sourceLimit)].compactMap { $0 }
            let waits = counted.compactMap { key, limit -> TimeInterval? in
                guard let window = windows[key], window.ends > now, window.failures >= limit else { return nil }
                return window.ends.timeIntervalSince(now)
            }
            return waits.max().map { max(1, Int($0.rounded(.up))) }
        }
    }

    public func recordFailure(account: String?, source: String, now: Date = Date()) {
        windows.withLock { windows in
            if windows.count >= policy.maxTracked {
                windows = windows.filter { $0.value.ends > now }
                if windows.count >= policy.maxTracked, let oldest = windows.min(by: { $0.value.ends < $1.value.ends })?.key {
                    windows[oldest] = nil
                }
            }
            for (key, length) in [account.map { (Self.accountKey($0), policy.accountWindow) }, (Self.sourceKey(source), policy.sourceWindow)].compactMap({ $0 }) {
                var window = windows[key].flatMap { $0.ends > now ? $0 : nil } ?? Window(failures: 0, ends: now.addingTimeInterval(length))
                window.failures += 1
                windows[key] = window
            }
        }
    }

    public func recordSuccess(account: String?) {
        guard let account else { return }
        _ = windows.withLock { $0.removeValue(forKey: Self.accountKey(account)) }
    }

    private static func accountKey(_ account: String) -> String { "a:" + account.lowercased() }
    private static func sourceKey(_ source: String) -> String { "s:" + source }
}
