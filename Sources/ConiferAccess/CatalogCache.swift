import ConiferCore
import Foundation
import Synchronization

/// What says whether the catalog may have changed: two equal versions have no commit between them, by this process
/// (its commit count) or any other (the write-ahead log's size and modification time, which every commit changes).
struct CatalogVersion: Equatable, Sendable {
    struct LogState: Equatable, Sendable {
        var size: Int64 = 0
        var modified: Int64 = 0
    }

    var commits: Int
    var log = LogState()
}

/// The principals of API keys, the identities of access tokens' subjects and the data-plane views of indexes, as the
/// catalog last answered them, for the requests of a server: every request needs a caller and every data-plane
/// request an index, and reading them costs more than the rest of the request. Everything is dropped at once when
/// the catalog's version changes, so a deleted key or a removed role stops working on the next request and a
/// changed index, plan, endpoint or limit is seen by it. Only found things are kept (a request with an unknown key
/// cannot grow it), at most `limit` of each.
final class CatalogCache: Sendable {
    struct IndexKey: Hashable {
        var project: UUID
        var organization: UUID
        var name: String
    }

    /// An access token's subject at the generation of its secret or password the token was issued at.
    struct IdentityKey: Hashable {
        var subject: Identity.Kind
        var generation: Int
    }

    private struct State {
        var version: CatalogVersion?
        /// By the hash of the key (never the key itself).
        var principals: [String: Principal] = [:]
        var identities: [IdentityKey: Identity] = [:]
        var indexes: [IndexKey: DataPlaneIndex] = [:]
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    func principal(keyHash: String, at version: CatalogVersion) -> Principal? { find(\.principals, keyHash, at: version) }
    func identity(_ key: IdentityKey, at version: CatalogVersion) -> Identity? { find(\.identities, key, at: version) }
    func index(_ key: IndexKey, at version: CatalogVersion) -> DataPlaneIndex? { find(\.indexes, key, at: version) }

    /// Keeps what was read at `version` (read before the catalog was), unless the catalog has moved on since.
    func remember(_ principal: Principal, keyHash: String, at version: CatalogVersion) { keep(\.principals, keyHash, principal, at: version) }
    func remember(_ identity: Identity, _ key: IdentityKey, at version: CatalogVersion) { keep(\.identities, key, identity, at: version) }
    func remember(_ index: DataPlaneIndex, _ key: IndexKey, at version: CatalogVersion) { keep(\.indexes, key, index, at: version) }

    private func find<Key: Hashable & Sendable, Value: Sendable>(_ table: KeyPath<State, [Key: Value]>, _ key: Key, at version: CatalogVersion) -> Value? {
        state.withLock { state in
            if state.version != version { state = State(version: version) }  // another version's answers go
            return state[keyPath: table][key]
        }
    }

    private func keep<Key: Hashable & Sendable, Value: Sendable>(_ table: WritableKeyPath<State, [Key: Value]>, _ key: Key, _ value: Value, at version: CatalogVersion) {
        state.withLock { state in
            guard state.version == version else { return }
            if state[keyPath: table].count >= limit { state[keyPath: table].removeAll() }
            state[keyPath: table][key] = value
        }
    }
}
