import ConiferCore
import ConiferKeys
import Crypto
import Foundation
import Logging
import Synchronization
import Testing
@testable import ConiferStorage

/// The registry's handling of data keys with a lifetime (those a customer-managed key in KMS wraps): the
/// provider is asked once per lifetime however many requests come, a refusal closes the index and stands for
/// its retry time, and service resumes with the data intact once the key unwraps again. The provider here
/// counts calls and can be told to refuse, and time is a clock the test moves (no sleeps: the counts hold on a
/// loaded machine); the real provider (AWS KMS through moto) is in conformance/test_cmek.py.
@Suite struct KeyLeaseTests {
    /// A clock that moves only when the test says.
    final class ManualClock: Sendable {
        private let current = Mutex(ContinuousClock.now)
        func now() -> ContinuousClock.Instant { current.withLock { $0 } }
        func advance(by duration: Duration) { current.withLock { $0 = $0 + duration } }
    }

    final class CountingKeys: IndexKeyProvider {
        let local = LocalIndexKeys(master: .generate())
        let unwraps = Atomic<Int>(0)
        let refusing = Atomic<Bool>(false)
        let lifetime: Duration

        init(lifetime: Duration) { self.lifetime = lifetime }

        func newKey(for definition: IndexDefinition) async throws -> (key: SymmetricKey, file: IndexKeyFile) {
            try await local.newKey(for: definition)
        }

        func unwrap(_ file: IndexKeyFile) async throws -> SymmetricKey {
            unwraps.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(20))  // a KMS round trip, so concurrent callers overlap
            if refusing.load(ordering: .relaxed) {
                throw KeyUnavailable(ConiferError(.failedPrecondition, "the test key is revoked"), retryAfter: lifetime)
            }
            return try await local.unwrap(file)
        }

        func lifetime(of file: IndexKeyFile) -> Duration? { lifetime }
    }

    @Test func theProviderIsAskedOncePerLifetimeAndARefusalStopsTheIndexUntilTheKeyUnwraps() async throws {
        let root = TemporaryDirectory()
        let keys = CountingKeys(lifetime: .seconds(300))
        let clock = ManualClock()
        let registry = StoreRegistry(root: root.url, keys: keys, policy: .never, logger: Logger(label: "test"), clock: clock.now)
        let definition = IndexDefinition(projectID: UUID(), name: "lease", vectorType: .dense, dimension: 3, metric: .euclidean)
        let store = try await registry.store(for: definition, pass: .dataEditor)
        _ = try await store.write(.upsert(namespace: "", records: [record("kept", [1, 2, 3])]))

        // Within the lifetime: no call, however many requests; the store is ready without waiting for the registry.
        for _ in 0..<50 { _ = try await registry.store(for: definition, pass: .dataEditor) }
        #expect(keys.unwraps.load(ordering: .relaxed) == 0)
        #expect(registry.readyStore(for: definition, pass: .dataEditor) != nil)

        // After it: one call for all the requests that arrive together.
        clock.advance(by: .seconds(301))
        #expect(registry.readyStore(for: definition, pass: .dataEditor) == nil, "a lease that ended is renewed by store(for:) first")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await registry.store(for: definition, pass: .dataEditor) } }
            try await group.waitForAll()
        }
        #expect(keys.unwraps.load(ordering: .relaxed) == 1)
        #expect(registry.readyStore(for: definition, pass: .dataEditor) != nil)

        // Revoked: the next request after the lifetime fails with the provider's error, the index is closed,
        // and the refusal stands without asking again until its retry time.
        keys.refusing.store(true, ordering: .relaxed)
        clock.advance(by: .seconds(301))
        let refused = await #expect(throws: ConiferError.self) { try await registry.store(for: definition, pass: .dataEditor) }
        #expect(refused?.code == .failedPrecondition && refused?.message == "the test key is revoked")
        for _ in 0..<10 { await #expect(throws: ConiferError.self) { try await registry.store(for: definition, pass: .dataEditor) } }
        #expect(keys.unwraps.load(ordering: .relaxed) == 2)
        await #expect(throws: (any Error).self) { try await store.write(.upsert(namespace: "", records: [record("late", [1, 1, 1])])) }
        #expect(registry.readyStore(for: definition, pass: .dataEditor) == nil)

        // Restored: after the retry time the index opens again with everything acknowledged before.
        keys.refusing.store(false, ordering: .relaxed)
        clock.advance(by: .seconds(301))
        let reopened = try await registry.store(for: definition, pass: .dataEditor)
        #expect(try reopened.snapshot().totalRecordCount == 1)
        #expect(keys.unwraps.load(ordering: .relaxed) == 3)
        #expect(registry.readyStore(for: definition, pass: .dataEditor) != nil)

        // Dropped: not ready from the moment the drop begins.
        try await registry.drop(indexID: definition.id, pass: .system(.purge))
        #expect(registry.readyStore(for: definition, pass: .dataEditor) == nil)
    }

    @Test func renewKeysClosesAnIdleIndexWhoseKeyWasRevoked() async throws {
        let root = TemporaryDirectory()
        let keys = CountingKeys(lifetime: .seconds(300))
        let clock = ManualClock()
        let registry = StoreRegistry(root: root.url, keys: keys, policy: .never, logger: Logger(label: "test"), clock: clock.now)
        let definition = IndexDefinition(projectID: UUID(), name: "idle", vectorType: .dense, dimension: 3, metric: .euclidean)
        let store = try await registry.store(for: definition, pass: .dataEditor)
        keys.refusing.store(true, ordering: .relaxed)
        await registry.renewKeys(pass: .system(.compaction))
        #expect(keys.unwraps.load(ordering: .relaxed) == 0, "not before the lifetime ends")
        clock.advance(by: .seconds(301))
        await registry.renewKeys(pass: .system(.compaction))
        #expect(keys.unwraps.load(ordering: .relaxed) == 1)
        await #expect(throws: (any Error).self) { try await store.write(.upsert(namespace: "", records: [record("x", [1, 1, 1])])) }
        await #expect(throws: ConiferError.self) { try await registry.store(for: definition, pass: .dataEditor) }
        #expect(registry.readyStore(for: definition, pass: .dataEditor) == nil)
    }
}
