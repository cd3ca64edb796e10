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

/// The principals of API keys and the data-plane views of indexes, as the catalog last answered them, for the
/// requests of a server: every data-plane request needs both, and reading them costs more than the rest of the
/// request. Everything is dropped at once when the catalog's version changes, so a deleted key stops working on the
/// next request and a changed index, plan, endpoint or limit is seen by it. Only found things are kept (a request
/// with an unknown key cannot grow it), at most `limit` of each.
final class CatalogCache: Sendable {
    struct IndexKey: Hashable {
        var project: UUID
        var organization: UUID
        var name: String
    }

    private struct State {
        var version: CatalogVersion?
        /// By the hash of the key (never the key itself).
        var principals: [String: Principal] = [:]
        var indexes: [IndexKey: DataPlaneIndex] = [:]
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int = 10_000) {
        self.limit = limit
    }

    func principal(keyHash: String, at version: CatalogVersion) -> Principal? {
        state.withLock { state in Self.current(&state, version) ? state.principals[keyHash] : nil }
    }

    func index(_ key: IndexKey, at version: CatalogVersion) -> DataPlaneIndex? {
        state.withLock { state in Self.current(&state, version) ? state.indexes[key] : nil }
    }

    /// Keeps what was read at `version` (read before the catalog was), unless the catalog has moved on since.
    func remember(_ principal: Principal, keyHash: String, at version: CatalogVersion) {
        state.withLock { state in
            guard state.version == version else { return }
            if state.principals.count >= limit { state.principals.removeAll() }
            state.principals[keyHash] = principal
        }
    }

    func remember(_ index: DataPlaneIndex, _ key: IndexKey, at version: CatalogVersion) {
        state.withLock { state in
            guard state.version == version else { return }
            if state.indexes.count >= limit { state.indexes.removeAll() }
            state.indexes[key] = index
        }
    }

    /// Makes the cache hold `version`'s answers: another version empties it.
    private static func current(_ state: inout State, _ version: CatalogVersion) -> Bool {
        if state.version != version { state = State(version: version) }
        return true
    }
}
