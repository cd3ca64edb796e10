import ConiferAccess
import ConiferCore
import ConiferStorage
import Foundation

/// Collections: Pinecone's backups of pod-based indexes, named and unique per project, and the source of new
/// indexes (`spec.pod.source_collection`). A collection is a backup file like any other (`IndexBackup`, its own
/// data key); an index created from one is written before the create request is answered, and is marked as
/// being filled meanwhile, so a server stopped half-way removes it at the next start.
extension BackupService {
    public func createCollection(_ pass: AuthorizationPass, name: String, sourceIndex: String) async throws -> BackupRecord {
        try pass.require(.indexesWrite)
        try await requirePlan(pass)
        try IndexRules.validateName(name, what: "collection")
        let source = try await catalog.index(named: sourceIndex, pass: pass)
        guard source.deployment.podCount > 0 else {
            throw ConiferError.invalidArgument("Collections are made from pod-based indexes; back up index \(source.name) with a backup instead.")
        }
        try Self.requireBackupable(source)
        try await catalog.requireRoom(forCollection: true, project: source.projectID)
        return try await record(source, as: BackupRecord(
            id: UUID(), name: name, description: nil, source: source, recordCount: 0, namespaceCount: 0, sizeBytes: 0, createdAt: Date(),
            isCollection: true
        ), pass: pass)
    }

    public func collections(_ pass: AuthorizationPass) async throws -> [BackupRecord] { try await catalog.collections(pass: pass) }

    public func collection(_ pass: AuthorizationPass, name: String) async throws -> BackupRecord {
        try await catalog.collection(named: name, pass: pass)
    }

    /// Deletes the collection: its row (and with it its data key) first, then its file.
    public func deleteCollection(_ pass: AuthorizationPass, name: String) async throws {
        let deleted = try await catalog.deleteCollection(named: name, pass: pass)
        await removeFiles([deleted.id])
    }

    /// Creates the index `creation` describes with the records of its `sourceCollection` (whose dimension it
    /// takes when the request gives none), answering once they are written; on any failure nothing of it stays.
    public func createIndex(_ pass: AuthorizationPass, fromCollection creation: IndexCreation) async throws -> IndexDefinition {
        guard let name = creation.sourceCollection else { throw ConiferError(.internalError, "No source collection") }
        let collection = try await catalog.collection(named: name, pass: pass)
        var creation = creation
        guard creation.vectorType == collection.source.vectorType else {
            throw ConiferError.invalidArgument("Collection \(name) holds \(collection.source.vectorType.rawValue) vectors; the index must too.")
        }
        if let dimension = creation.dimension, dimension != collection.source.dimension {
            throw ConiferError.invalidArgument(
                "The index's dimension (\(dimension)) must be the collection's (\(collection.source.dimension.map(String.init) ?? "none"))."
            )
        }
        creation.dimension = collection.source.dimension
        let definition = try await indexes.create(pass, creation)
        let restoring = try pass.delegating(.backup)
        do {
            let store = try await registry.store(for: definition, pass: restoring)
            try await restore(collection.id, what: "Collection \(name)", into: store, pass: restoring)
            try await catalog.finishRestoredIndex(definition.id)
        } catch {
            try? await catalog.removeIndex(definition.id)
            try? await registry.drop(indexID: definition.id, pass: restoring)
            throw error
        }
        var ready = definition
        ready.restoreJobID = nil
        return ready
    }
}
