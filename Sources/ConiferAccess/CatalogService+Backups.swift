import ConiferCore
import Crypto
import Foundation

// Backups, collections, restore jobs, backup schedules and the usage ledger: who reaches which rows, the plan's
// counts, unique collection names, one enabled schedule per index and retention, over rows that decide nothing.

extension CatalogService {
    // MARK: Backups and collections

    public func insertBackup(_ backup: BackupRecord, dataKey: SymmetricKey) async throws {
        try await store.write { rows in try Self.insert(backup, dataKey: dataKey, rows) }
    }

    /// Adds a backup's row; a collection's name must be free in its project (409), and the project below its
    /// plan's count of backups or collections (403).
    static func insert(_ backup: BackupRecord, dataKey: SymmetricKey, _ rows: any CatalogRows) throws {
        let project = backup.source.projectID
        if backup.isCollection, try rows.collection(named: backup.name, project: project) != nil {
            throw ConiferError.alreadyExists("Resource \(backup.name) already exists.")
        }
        try requireRoom(forCollection: backup.isCollection, project: project, rows)
        try rows.insert(backup, dataKey: dataKey)
    }

    public func requireRoom(forCollection: Bool, project: UUID) async throws {
        try await store.read { rows in try Self.requireRoom(forCollection: forCollection, project: project, rows) }
    }

    /// Throws 403 QUOTA_EXCEEDED when the project holds its plan's number of backups (or collections).
    static func requireRoom(forCollection: Bool, project: UUID, _ rows: any CatalogRows) throws {
        let plan = try rows.project(project).flatMap { try rows.organization($0.organizationID)?.plan } ?? .starter
        let limit = forCollection ? plan.maxCollectionsPerProject : plan.maxBackupsPerProject
        guard try rows.backupCount(project: project, collections: forCollection) < limit else {
            let what = forCollection ? "collections" : "backups"
            throw ConiferError(.quotaExceeded, "The project has reached its quota of \(limit) \(what) on the \(plan.rawValue) plan; delete one first.")
        }
    }

    public func collections(pass: AuthorizationPass) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.backups(project: principal.projectID, collections: true) }
    }

    public func collection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try Self.collection(rows, name, principal) }
    }

    public func deleteCollection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let collection = try Self.collection(rows, name, principal)
            try rows.deleteBackup(collection.id)
            return collection
        }
    }

    static func collection(_ rows: any CatalogRows, _ name: String, _ principal: Principal) throws -> BackupRecord {
        guard let collection = try rows.collection(named: name, project: principal.projectID) else {
            throw ConiferError.notFound("Collection \(name.prefix(64)) not found.")
        }
        return collection
    }

    public func backups(pass: AuthorizationPass, indexName: String?) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in
            try rows.backups(project: principal.projectID, collections: false).filter { indexName == nil || $0.source.name == indexName }
        }
    }

    public func backup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try Self.backup(rows, id, principal) }
    }

    public func backupKey(_ id: UUID) async throws -> SymmetricKey {
        try await store.read { rows in
            guard let key = try rows.backupKey(id) else { throw ConiferError.notFound("Backup \(id.lowercasedString) not found.") }
            return key
        }
    }

    public func backupIDs() async throws -> Set<UUID> {
        try await store.read { rows in try rows.backupIDs() }
    }

    public func deleteBackup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let backup = try Self.backup(rows, id, principal)
            try rows.deleteBackup(id)
            return backup
        }
    }

    static func backup(_ rows: any CatalogRows, _ id: UUID, _ principal: Principal) throws -> BackupRecord {
        guard let backup = try rows.backup(id, project: principal.projectID) else { throw ConiferError.notFound("Backup \(id.lowercasedString) not found.") }
        return backup
    }

    // MARK: Restore jobs

    public func insertRestoreJob(_ job: RestoreJob) async throws {
        try await store.write { rows in try rows.insert(job) }
    }

    public func updateRestoreJob(_ id: UUID, status: RestoreJob.Status, percentComplete: Double, error: String?) async throws {
        try await store.write { rows in
            guard var job = try rows.restoreJob(id) else { return }
            job.status = status
            job.percentComplete = percentComplete
            job.error = error
            job.completedAt = status == .completed || status == .failed ? Date() : nil
            try rows.update(job)
        }
    }

    public func restoreJobs(pass: AuthorizationPass) async throws -> [RestoreJob] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.restoreJobs(project: principal.projectID) }
    }

    public func restoreJob(_ id: UUID, pass: AuthorizationPass) async throws -> RestoreJob {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in
            guard let job = try rows.restoreJob(id), job.projectID == principal.projectID else {
                throw ConiferError.notFound("Restore job \(id.lowercasedString) not found.")
            }
            return job
        }
    }

    public func failInterruptedRestoreJobs(home: String?) async throws -> Int {
        try await store.write { rows in
            // An index this server was still restoring at start is a half index: gone from the catalog (its files
            // are orphans, retired at start). A completed job cleared its index's mark. On a shared catalog, another
            // server's restores are its own to finish.
            let halves = try rows.allIndexes().filter { $0.restoreJobID != nil && $0.home == home }
            for index in halves { try rows.deleteIndex(index.id) }
            let interrupted = try rows.restoreJobs(status: [.pending, .inProgress]).filter { job in
                try home == nil || halves.contains { $0.id == job.targetIndexID } || rows.index(job.targetIndexID) == nil
            }
            for var job in interrupted {
                job.status = .failed
                job.error = "The server stopped while the index was being restored; nothing of it was kept. Create the index from the backup again."
                job.completedAt = Date()
                try rows.update(job)
            }
            return interrupted.count
        }
    }

    public func finishRestoredIndex(_ id: UUID) async throws {
        try await store.write { rows in
            guard try rows.clearRestoreMark(id) else { throw ConiferError.notFound("The index being restored was deleted meanwhile.") }
        }
    }

    // MARK: Backup schedules

    public func insertBackupSchedule(_ schedule: BackupSchedule) async throws {
        try await store.write { rows in
            if schedule.enabled { try Self.requireNoOtherEnabledSchedule(rows, index: schedule.indexID, except: schedule.id) }
            try rows.insert(schedule)
        }
    }

    public func backupSchedules(indexID: UUID, pass: AuthorizationPass) async throws -> [BackupSchedule] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.schedules(index: indexID).filter { $0.projectID == principal.projectID } }
    }

    public func backupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try Self.schedule(rows, id, principal) }
    }

    public func updateBackupSchedule(
        _ id: UUID, pass: AuthorizationPass, _ change: @escaping @Sendable (inout BackupSchedule) throws -> Void
    ) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let current = try Self.schedule(rows, id, principal)
            var next = current
            try change(&next)
            if next.enabled && !current.enabled { try Self.requireNoOtherEnabledSchedule(rows, index: next.indexID, except: id) }
            try rows.update(next)
            if next.retentionDays != current.retentionDays {
                // The backups it took keep for the new number of days from when each was taken.
                for backup in try rows.backups(schedule: id) {
                    try rows.setExpiry(BackupSchedule.expiry(of: backup.createdAt, retentionDays: next.retentionDays), backup: backup.id)
                }
            }
            return next
        }
    }

    public func deleteBackupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let schedule = try Self.schedule(rows, id, principal)
            try rows.deleteSchedule(id)
            return schedule
        }
    }

    public func scheduledBackups(schedule: UUID, pass: AuthorizationPass) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.backups(schedule: schedule).filter { $0.source.projectID == principal.projectID } }
    }

    public func dueBackupSchedules(at now: Date) async throws -> [DueBackupSchedule] {
        try await store.read { rows in
            try rows.dueSchedules(at: now).map { schedule in
                guard let index = try rows.index(schedule.indexID) else {
                    throw ConiferError(.internalError, "A backup schedule without its index")
                }
                guard let project = try rows.project(schedule.projectID), let organization = try rows.organization(project.organizationID) else {
                    throw ConiferError(.internalError, "A backup schedule without its organization")
                }
                return DueBackupSchedule(schedule: schedule, index: index, plan: organization.plan, organizationID: organization.id)
            }
        }
    }

    public func insertScheduledBackup(_ backup: BackupRecord, dataKey: SymmetricKey, slot: Date, next: BackupSchedule.NextRun) async throws -> Bool {
        guard let schedule = backup.scheduleID else { throw ConiferError(.internalError, "A scheduled backup without its schedule") }
        return try await store.write { rows in
            guard try rows.advance(schedule: schedule, from: slot, to: next) else { return false }
            try Self.insert(backup, dataKey: dataKey, rows)
            return true
        }
    }

    public func skipScheduledRun(_ schedule: UUID, slot: Date, next: BackupSchedule.NextRun) async throws {
        try await store.write { rows in _ = try rows.advance(schedule: schedule, from: slot, to: next) }
    }

    public func expiredBackups(at now: Date) async throws -> [ExpiredBackup] {
        try await store.read { rows in try rows.backups(expiringBy: now) }
    }

    public func deleteExpiredBackup(_ id: UUID, at now: Date) async throws -> Bool {
        try await store.write { rows in
            guard try rows.backups(expiringBy: now).contains(where: { $0.id == id }) else { return false }
            try rows.deleteBackup(id)
            return true
        }
    }

    /// One enabled schedule per index (409 otherwise).
    static func requireNoOtherEnabledSchedule(_ rows: any CatalogRows, index: UUID, except id: UUID) throws {
        if let enabled = try rows.schedules(index: index).first(where: { $0.enabled && $0.id != id }) {
            throw ConiferError.alreadyExists("The index already has an enabled backup schedule (\(enabled.name)); disable or delete it first.")
        }
    }

    static func schedule(_ rows: any CatalogRows, _ id: UUID, _ principal: Principal) throws -> BackupSchedule {
        guard let schedule = try rows.schedule(id), schedule.projectID == principal.projectID else {
            throw ConiferError.notFound("Backup schedule \(id.lowercasedString) not found.")
        }
        return schedule
    }

    // MARK: Usage ledger

    public func recordUsage(_ entries: [UsageEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await store.write { rows in try rows.addUsage(entries) }
    }

    public func usageTotals(since start: Date) async throws -> [UUID: UnitTotals] {
        try await store.read { rows in try rows.usageTotals(since: start) }
    }

    public func dueMail(at now: Date, limit: Int) async throws -> [OutboxMail] {
        try await store.read { rows in try rows.dueMail(at: now, limit: limit) }
    }

    public func saveMail(_ mail: OutboxMail) async throws {
        try await store.write { rows in try rows.save(mail) }
    }

    public func storedResources() async throws -> [StoredResource] {
        try await store.read { rows in try rows.storedResources() }
    }

    public func usage(organization: UUID, from: Date, to: Date) async throws -> [UsageEntry] {
        try await store.read { rows in try rows.usage(organization: organization, from: from, to: to) }
    }
}
