import ConiferAccess
import ConiferCore
import ConiferKeys
import ConiferStorage
import Crypto
import Foundation
import Logging

/// Backups of indexes and restore jobs: a backup is one sealed file (`IndexBackup`) in the backup directory
/// under its own data key (kept sealed in the catalog); a restore job writes a backup into a new index that the
/// catalog shows only once it is complete, so a failed or interrupted job leaves no index behind.
public struct BackupService: Sendable {
    let catalog: any Catalog
    let registry: StoreRegistry
    /// Where backup files are kept (a directory or an S3 bucket).
    let files: BackupFiles
    /// The time backup schedules go by.
    public let clock: ScheduleClock
    let logger: Logger
    /// Told what the scheduler does on its own (the audit log).
    let observer: any ActionObserver
    /// Meters what restores bring back (nil when metering is off).
    let usage: UsageMeter?

    /// Creates the indexes restores and collections fill, by the rules of every creation.
    var indexes: IndexService { IndexService(catalog: catalog, registry: registry) }

    public init(
        catalog: any Catalog, registry: StoreRegistry, files: BackupFiles, clock: ScheduleClock = .wall, logger: Logger,
        observer: any ActionObserver = NoActionObserver(), usage: UsageMeter? = nil
    ) {
        self.observer = observer
        self.usage = usage
        self.catalog = catalog
        self.registry = registry
        self.files = files
        self.clock = clock
        self.logger = logger
    }

    /// Backups are on the Standard and Enterprise plans (402 on Starter).
    func requirePlan(_ pass: AuthorizationPass) async throws {
        let principal = try pass.principal(requiring: .indexesRead)
        guard try await catalog.plan(of: principal.organizationID) != .starter else {
            throw ConiferError(.paymentRequired, "Backups need the Standard or Enterprise plan.")
        }
    }

    /// Takes a backup of the index now: every write acknowledged before this call, none after.
    public func create(_ pass: AuthorizationPass, indexName: String, name: String?, description: String?) async throws -> BackupRecord {
        try pass.require(.indexesWrite)
        try await requirePlan(pass)
        let source = try await catalog.index(named: indexName, pass: pass)
        try Self.requireBackupable(source)
        try await catalog.requireRoom(forCollection: false, project: source.projectID)
        let name = name ?? "backup-\(Self.stamp.string(from: Date()))"
        try IndexRules.validateName(name, what: "backup")
        if let description, description.count > 1000 { throw ConiferError.invalidArgument("A backup description is at most 1000 characters.") }
        return try await record(source, as: BackupRecord(
            id: UUID(), name: name, description: description, source: source, recordCount: 0, namespaceCount: 0, sizeBytes: 0, createdAt: Date()
        ), pass: pass)
    }

    /// Takes `backup` of `source` and records it in the catalog; a refused row (a taken collection name)
    /// removes the file again.
    func record(_ source: IndexDefinition, as backup: BackupRecord, pass: AuthorizationPass) async throws -> BackupRecord {
        let taken = try await take(source, as: backup, pass: pass.delegating(.backup))
        do {
            try await catalog.insertBackup(taken.backup, dataKey: taken.key)
            return taken.backup
        } catch {
            await removeFiles([taken.backup.id])
            throw error
        }
    }

    static func requireBackupable(_ index: IndexDefinition) throws {
        guard index.restoreJobID == nil else {
            throw ConiferError.failedPrecondition("Index \(index.name) is being restored from a backup; back it up once it is ready.")
        }
        guard index.cmekID == nil else {
            throw ConiferError.failedPrecondition("Backups are not available for indexes under a customer-managed key (CMEK).")
        }
    }

    /// Writes the backup file of `source` under a new data key and puts it in the store: `backup` with its
    /// counts and size filled in. `pass` is the caller's delegated to the backup task, or the scheduler's.
    func take(_ source: IndexDefinition, as backup: BackupRecord, pass: AuthorizationPass) async throws -> (backup: BackupRecord, key: SymmetricKey) {
        let key = SymmetricKey(size: .bits256)
        let store = try await registry.store(for: source, pass: pass)
        try FileManager.default.createDirectory(at: files.directory, withIntermediateDirectories: true)
        let url = files.staging(backup.id)
        do {
            // Seconds of encoding, sealing and fsync for a large index: on a thread of its own, off the request pool.
            let summary = try await ScanThreads().run {
                Result { try IndexBackup.write(store, to: url, cipher: FileCipher(key: key), pass: pass) }
            }.get()
            try await files.keep(backup.id)
            var backup = backup
            backup.recordCount = summary.recordCount
            backup.namespaceCount = summary.namespaceCount
            backup.sizeBytes = summary.sizeBytes
            return (backup, key)
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
    }

    /// Writes a backup's (or collection's) records into `store`: the file is read through its seal first (on
    /// a thread of its own), so a damaged, cut or altered one fails with a message naming it before anything is
    /// written; then it is read again a chunk at a time as the records are written.
    func restore(
        _ id: UUID, what: String, into store: IndexStore, pass: AuthorizationPass, progress: (Double) async -> Void = { _ in }
    ) async throws {
        let cipher = FileCipher(key: try await catalog.backupKey(id))
        try await files.withLocalFile(id) { url in
            let verified: IndexBackup.Verified
            do {
                verified = try await ScanThreads().run { Result { try IndexBackup.verify(url, cipher: cipher) } }.get()
            } catch {
                throw ConiferError(.failedPrecondition, "\(what) cannot be read (\(error)); no index was created.")
            }
            try await IndexBackup.restore(verified, cipher: cipher, into: store, pass: pass, progress: progress)
        }
    }

    /// Removes the files of backups whose rows (and keys) are gone.
    public func removeFiles(_ ids: [UUID]) async { await files.remove(ids) }

    /// At start: removes the local files no backup row names (one written when the server stopped before
    /// recording it, whose key was never kept), unfinished downloads from an S3 store and files a stop left half
    /// written; returns how many.
    public func removeOrphanFiles() async throws -> Int {
        let known = try await catalog.backupIDs()
        let halfWritten = DurableFile.removeTemporaryFiles(in: files.directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: files.directory.path)) ?? []
        let orphans = names.filter { name in
            guard name.hasSuffix(".backup"), let id = UUID(uuidString: String(name.dropLast(".backup".count))) else {
                return name.hasSuffix(".download")
            }
            return !known.contains(id)
        }
        for name in orphans { try? FileManager.default.removeItem(at: files.directory.appendingPathComponent(name)) }
        return orphans.count + halfWritten
    }

    public func list(_ pass: AuthorizationPass, indexName: String?) async throws -> [BackupRecord] {
        if let indexName { _ = try await catalog.index(named: indexName, pass: pass) }
        return try await catalog.backups(pass: pass, indexName: indexName)
    }

    public func describe(_ pass: AuthorizationPass, id: UUID) async throws -> BackupRecord {
        try await catalog.backup(id, pass: pass)
    }

    /// Deletes the backup: its row (and with it its data key) first, then its file.
    public func delete(_ pass: AuthorizationPass, id: UUID) async throws -> BackupRecord {
        let deleted = try await catalog.deleteBackup(id, pass: pass)
        await removeFiles([id])
        return deleted
    }

    /// Starts a job creating index `name` from the backup; the index is visible once the job completes.
    public func restore(
        _ pass: AuthorizationPass, backupID: UUID, name: String, tags: [String: String]?, deletionProtection: DeletionProtection?
    ) async throws -> RestoreJob {
        let principal = try pass.principal(requiring: .indexesWrite)
        try await requirePlan(pass)
        let backup = try await catalog.backup(backupID, pass: pass)
        let jobID = UUID()
        // The index first, through the rules of every creation: a taken name, a full project or a key KMS
        // refuses answers the request before any job exists.
        let definition = try await indexes.create(
            pass, IndexCreation(restoring: backup.source, name: name, tags: tags, deletionProtection: deletionProtection, job: jobID)
        )
        let job = RestoreJob(
            id: jobID, projectID: principal.projectID, backupID: backupID, targetIndexID: definition.id, targetIndexName: name,
            status: .pending, percentComplete: 0, error: nil, createdAt: Date(), completedAt: nil
        )
        do {
            try await catalog.insertRestoreJob(job)
        } catch {
            try? await catalog.removeIndex(definition.id)
            throw error
        }
        let restoring = try pass.delegating(.backup)
        let restored = UsageEntry(
            organizationID: principal.organizationID, projectID: definition.projectID, resourceID: definition.id, resourceName: definition.name,
            region: definition.deployment.region, sku: .restore, hour: Date(), quantity: Double(backup.sizeBytes) / 1e9
        )
        Task.detached { [self] in await run(job, definition: definition, restored: restored, pass: restoring) }
        return job
    }

    /// Writes the backup into the new index's store, then makes the index visible and meters what was restored
    /// (`restored`: GB); on any failure removes what was written and records why.
    func run(_ job: RestoreJob, definition: IndexDefinition, restored: UsageEntry, pass: AuthorizationPass) async {
        do {
            try await catalog.updateRestoreJob(job.id, status: .inProgress, percentComplete: 0, error: nil)
            let store = try await registry.store(for: definition, pass: pass)
            var reported = 0.0
            try await restore(job.backupID, what: "Backup \(job.backupID.lowercasedString)", into: store, pass: pass) { share in
                guard share - reported >= 0.1 || share == 1 else { return }
                reported = share
                try? await catalog.updateRestoreJob(job.id, status: .inProgress, percentComplete: (share * 99).rounded(.down), error: nil)
            }
            try await catalog.finishRestoredIndex(definition.id)
            usage?.record(.restore, quantity: restored.quantity, resource: restored)  // the index is there: metered
            try await catalog.updateRestoreJob(job.id, status: .completed, percentComplete: 100, error: nil)
        } catch {
            logger.warning("restore job failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
            try? await catalog.removeIndex(definition.id)
            try? await registry.drop(indexID: definition.id, pass: pass)
            let message = (error as? ConiferError)?.message ?? "The restore failed: \(error)"
            try? await catalog.updateRestoreJob(job.id, status: .failed, percentComplete: 0, error: message)
        }
    }

    public func jobs(_ pass: AuthorizationPass) async throws -> [RestoreJob] { try await catalog.restoreJobs(pass: pass) }
    public func job(_ pass: AuthorizationPass, id: UUID) async throws -> RestoreJob { try await catalog.restoreJob(id, pass: pass) }

    /// Names of scheduled runs (`20261208T000000Z`) and default backup names (`20261208-000000`), in UTC.
    static let runStamp = utcFormatter("yyyyMMdd'T'HHmmss'Z'")
    static let stamp = utcFormatter("yyyyMMdd-HHmmss")

    static func utcFormatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }
}
