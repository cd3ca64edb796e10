import ConiferCore
import Foundation
import Synchronization
import Testing
@testable import ConiferAccess

/// Finding 3 and the token part of finding 10 of issue 7: password work is bounded and only done for
/// a caller who could succeed; tokens that are not yet valid are refused.
@Suite struct SignInHardeningTests {
    @Test func anInviteTokenIsLookedUpBeforeAnyPasswordWork() async throws {
        let admin = AdminService(catalog: try SQLiteCatalog.inMemory())
        for token in ["pcinv_doesnotexist0123456789", "x"] {
            await #expect(throws: ConiferError.self) {
                _ = try await admin.acceptInvite(token: token, password: "a-long-password-123", name: nil)
            }
        }
        #expect(admin.passwordHashing.runs == 0)
    }

    @Test func passwordWorkIsBoundedAndRefusesPastItsQueue() async throws {
        let queue = PasswordHashingQueue(lanes: 1, maxWaiting: 2)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        async let first: Void = queue.run { started.signal(); release.wait() }
        started.wait()
        async let second: Void = queue.run { release.wait() }
        // Two callers in (however long the second takes to arrive on a loaded machine): the third is refused at
        // once with 429 rather than queued.
        while queue.admitted < 2 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            try await queue.run {}
            Issue.record("a third caller was queued")
        } catch let error as ConiferError {
            #expect(error.code == .resourceExhausted)
        }
        release.signal()
        release.signal()
        _ = try await (first, second)
        #expect(queue.runs == 2)
        try await queue.run {}
        #expect(queue.runs == 3)
    }

    @Test func tokensAreRefusedBeforeTheirNotBeforeTime() async throws {
        let tokens = await TokenService.inMemory()
        let account = UUID()
        let early = try await tokens.issue(for: .serviceAccount(account), generation: 1, notBefore: Date().addingTimeInterval(600))
        #expect(await tokens.verify(early) == nil)
        let now = try await tokens.issue(for: .serviceAccount(account), generation: 1)
        #expect(await tokens.verify(now)?.generation == 1)
    }

    @Test func throttleWindowsCountFailuresAndSuccessClearsTheAccount() {
        let throttle = LoginThrottle(policy: .init(accountLimit: 2, accountWindow: 60, sourceLimit: 3, sourceWindow: 10))
        let start = Date()
        throttle.recordFailure(account: "a", source: "1.2.3.4", now: start)
        #expect(throttle.retryAfter(account: "a", source: "1.2.3.4", now: start) == nil)
        throttle.recordFailure(account: "A", source: "1.2.3.4", now: start)
        #expect(throttle.retryAfter(account: "a", source: "5.6.7.8", now: start) == 60)
        #expect(throttle.retryAfter(account: "a", source: "5.6.7.8", now: start.addingTimeInterval(61)) == nil)
        throttle.recordFailure(account: "b", source: "1.2.3.4", now: start)
        #expect(throttle.retryAfter(account: "c", source: "1.2.3.4", now: start) == 10)
        throttle.recordSuccess(account: "a")
        #expect(throttle.retryAfter(account: "a", source: "9.9.9.9", now: start) == nil)
    }
}
