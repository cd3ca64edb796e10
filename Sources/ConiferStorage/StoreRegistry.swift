import ConiferCore
import ConiferIndex
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
    /// Indexes whose files failed an integrity check; they refuse service until repaired and restarted.
    private var corrupt: Set<UUID> = []

    public init(root: URL, policy: CompactionPolicy = .init(), logger: Logger) {
        self.root = root
        self.policy = policy
        self.logger = logger
    }

    /// The store of an index, recovering it from disk the first time. A damaged index answers 503 with a
    /// message for the operator, and is logged once at `critical`. The pass is the caller's decision to
    /// reach this index's data (the catalog resolved the index within the pass's project).
    public func store(for definition: IndexDefinition, pass: AuthorizationPass) async throws -> IndexStore {
        let indexID = definition.id
        if corrupt.contains(indexID) { throw Self.refusal }
        if let opening = stores[indexID] {
            return try await opening.value
        }
        let directory = root.appendingPathComponent(indexID.uuidString.lowercased())
        let policy = self.policy
        let logger = self.logger
        let settings = EngineSettings(metric: definition.metric)
        let opening = Task { try await IndexStore.open(indexID: indexID, directory: directory, settings: settings, policy: policy, logger: logger) }
        stores[indexID] = opening
        do {
            return try await opening.value
        } catch let damage as IndexCorruption {
            stores[indexID] = nil
            if corrupt.insert(indexID).inserted {
                logger.critical(
                    "index files failed an integrity check; the index refuses service. Acknowledged writes after the damaged file exist only in the files set aside by a repair. Stop the server and run `conifer repair --data-dir <dir> --index \(indexID.uuidString.lowercased())` to accept the loss.",
                    metadata: ["index": "\(indexID)", "directory": "\(directory.path)", "file": "\(damage.file)", "error": "\(damage.reason)"]
                )
            }
            throw Self.refusal
        } catch {
            stores[indexID] = nil
            throw error
        }
    }

    static let refusal = ConiferError(
        .unavailable, "This index is unavailable: its stored data failed an integrity check. An operator must repair it; see the server log."
    )

    /// Stops serving an index at once and removes its files.
    public func drop(indexID: UUID, pass: AuthorizationPass) async throws {
        try pass.require(.indexesWrite)
        corrupt.remove(indexID)
        if let opening = stores.removeValue(forKey: indexID), let store = try? await opening.value {
            await store.close()
        }
        removeDirectory(of: indexID)
    }

    /// Removes directories of indexes the catalog no longer has (deleted while the server was down, or
    /// before their files could be removed). A system task: no caller asks for it.
    public func purge(keeping known: Set<UUID>, pass: AuthorizationPass) {
        guard pass == .system(.purge) else { return }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return }
        for name in names {
            guard let id = UUID(uuidString: name), !known.contains(id) else { continue }
            removeDirectory(of: id)
        }
    }

    /// Compacts every open store whose log has grown past the policy (the compaction service's work).
    public func compactWhereNeeded(pass: AuthorizationPass) async {
        guard pass == .system(.compaction) else { return }
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
