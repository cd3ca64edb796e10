import ConiferCore
import Foundation
import Logging

/// Opens index stores on first use and keeps them open; deletes an index's files when it is dropped.
///
/// Index directories live at `<root>/<index-id>`.
public actor StoreRegistry {
    let root: URL
    let policy: CompactionPolicy
    let logger: Logger
    private var stores: [UUID: Task<IndexStore, any Error>] = [:]

    public init(root: URL, policy: CompactionPolicy = .init(), logger: Logger) {
        self.root = root
        self.policy = policy
        self.logger = logger
    }

    /// The store of an index, recovering it from disk the first time.
    public func store(for indexID: UUID) async throws -> IndexStore {
        if let opening = stores[indexID] {
            return try await opening.value
        }
        let directory = root.appendingPathComponent(indexID.uuidString.lowercased())
        let policy = self.policy
        let logger = self.logger
        let opening = Task { try await IndexStore.open(indexID: indexID, directory: directory, policy: policy, logger: logger) }
        stores[indexID] = opening
        do {
            return try await opening.value
        } catch {
            stores[indexID] = nil
            throw error
        }
    }

    /// Stops serving an index at once and removes its files.
    public func drop(indexID: UUID) async {
        if let opening = stores.removeValue(forKey: indexID), let store = try? await opening.value {
            await store.close()
        }
        removeDirectory(of: indexID)
    }

    /// Removes directories of indexes the catalog no longer has (deleted while the server was down, or
    /// before their files could be removed).
    public func purge(keeping known: Set<UUID>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return }
        for name in names {
            guard let id = UUID(uuidString: name), !known.contains(id) else { continue }
            removeDirectory(of: id)
        }
    }

    /// Compacts every open store whose log has grown past the policy.
    public func compactWhereNeeded() async {
        for opening in stores.values {
            guard let store = try? await opening.value, await store.needsCompaction else { continue }
            do {
                try await store.compact()
            } catch {
                logger.error("compaction failed", metadata: ["index": "\(store.indexID)", "error": "\(error)"])
            }
        }
    }

    private func removeDirectory(of indexID: UUID) {
        let directory = root.appendingPathComponent(indexID.uuidString.lowercased())
        do {
            if FileManager.default.fileExists(atPath: directory.path) {
                try FileManager.default.removeItem(at: directory)
            }
        } catch {
            logger.error("could not remove index files", metadata: ["index": "\(indexID)", "error": "\(error)"])
        }
    }
}
