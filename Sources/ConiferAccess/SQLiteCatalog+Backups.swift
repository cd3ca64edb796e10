import ConiferCore
import Crypto
import Foundation
import GRDB

// Backups and restore jobs in the catalog. A backup's file is sealed under its own data key, which is kept
// here sealed under the server key (so the backup outlives its index, whose key is destroyed with it, and a
// master-key rotation re-wraps it with the server key); deleting the row destroys the key.

extension SQLiteCatalog {
    static func registerBackupMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9 backups and restore jobs") { db in
            try db.create(table: "backup") { t in
                t.primaryKey("id", .text)
                // A project with backups is not deleted (as Pinecone: the project must be empty of them).
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .restrict)
                t.column("name", .text).notNull()
                t.column("description", .text)
                t.column("source", .jsonText).notNull()  // the source index's definition at backup time
                t.column("record_count", .integer).notNull()
                t.column("namespace_count", .integer).notNull()
                t.column("size_bytes", .integer).notNull()
                t.column("data_key", .blob).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "restore_job") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                t.column("backup_id", .text).notNull()
                t.column("target_index_id", .text).notNull()
                t.column("target_index_name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("percent_complete", .double).notNull()
                t.column("error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("completed_at", .datetime)
            }
            try db.alter(table: "index_definition") { t in t.add(column: "restore_job_id", .text) }
        }
        migrator.registerMigration("v10 backup schedules") { db in
            try db.create(table: "backup_schedule") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                // A schedule belongs to one index (by id: a new index of the same name has none) and goes with it.
                t.column("index_id", .text).notNull().indexed().references("index_definition", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("frequency", .text).notNull()
                t.column("retention_days", .integer).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("next_run", .datetime)
                t.column("next_backup_id", .text)
                t.column("created_at", .datetime).notNull()
            }
            try db.alter(table: "backup") { t in
                t.add(column: "schedule_id", .text).indexed()
                t.add(column: "expires_at", .datetime).indexed()
            }
        }
        migrator.registerMigration("v11 collections") { db in
            try db.alter(table: "backup") { t in t.add(column: "is_collection", .boolean).notNull().defaults(to: false) }
        }
    }

    // MARK: Backups

    public func insertBackup(_ backup: BackupRecord, dataKey: SymmetricKey) async throws {
        let sealer = sealer
        try await writeChange { db in try Self.insert(backup, dataKey: dataKey, db, sealer) }
    }

    /// Adds a backup's row; a collection's name must be free in its project (409), and the project below its
    /// plan's count of backups or collections (403).
    private static func insert(_ backup: BackupRecord, dataKey: SymmetricKey, _ db: Database, _ sealer: ColumnSealer) throws {
        let project = backup.source.projectID.lowercasedString
        if backup.isCollection, try fetchCollection(db, name: backup.name, project: project, sealer) != nil {
            throw ConiferError.alreadyExists("Resource \(backup.name) already exists.")
        }
        try requireRoom(forCollection: backup.isCollection, project: project, db, sealer)
        let key = try sealer.seal(dataKey.withUnsafeBytes { Data($0) }, .backupKey)
        try db.execute(
            sql: """
                INSERT INTO backup (id, project_id, name, description, source, record_count, namespace_count, size_bytes, data_key, created_at,
                    schedule_id, expires_at, is_collection)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                backup.id.lowercasedString, project, backup.name, try backup.description.map { try sealer.seal(Data($0.utf8), .backupDescription) },
                try sealer.seal(json: backup.source, .backupSource), backup.recordCount, backup.namespaceCount,
                backup.sizeBytes, key, backup.createdAt, backup.scheduleID?.lowercasedString, backup.expiresAt, backup.isCollection,
            ]
        )
    }

    public func requireRoom(forCollection: Bool, project: UUID) async throws {
        let sealer = sealer
        try await database.read { db in try Self.requireRoom(forCollection: forCollection, project: project.lowercasedString, db, sealer) }
    }

    /// Throws 403 QUOTA_EXCEEDED when the project holds its plan's number of backups (or collections).
    private static func requireRoom(forCollection: Bool, project: String, _ db: Database, _ sealer: ColumnSealer) throws {
        let rows = SQLiteRows(db: db, sealer: sealer)
        let plan = try rows.project(project).flatMap { try rows.organization($0.organizationID)?.plan } ?? .starter
        let limit = forCollection ? plan.maxCollectionsPerProject : plan.maxBackupsPerProject
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM backup WHERE project_id = ? AND is_collection = ?", arguments: [project, forCollection]) ?? 0
        guard count < limit else {
            let what = forCollection ? "collections" : "backups"
            throw ConiferError(.quotaExceeded, "The project has reached its quota of \(limit) \(what) on the \(plan.rawValue) plan; delete one first.")
        }
    }

    // MARK: Collections

    public func collections(pass: AuthorizationPass) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM backup WHERE project_id = ? AND is_collection ORDER BY name", arguments: [principal.projectID.lowercasedString]
            ).map { try Self.backup($0, sealer) }
        }
    }

    public func collection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            guard let collection = try Self.fetchCollection(db, name: name, project: principal.projectID.lowercasedString, sealer) else {
                throw ConiferError.notFound("Collection \(name.prefix(64)) not found.")
            }
            return collection
        }
    }

    public func deleteCollection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await writeChange { db in
            guard let collection = try Self.fetchCollection(db, name: name, project: principal.projectID.lowercasedString, sealer) else {
                throw ConiferError.notFound("Collection \(name.prefix(64)) not found.")
            }
            try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [collection.id.lowercasedString])
            return collection
        }
    }

    static func fetchCollection(_ db: Database, name: String, project: String, _ sealer: ColumnSealer) throws -> BackupRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM backup WHERE project_id = ? AND is_collection AND name = ?", arguments: [project, name])
            .map { try backup($0, sealer) }
    }

    public func backups(pass: AuthorizationPass, indexName: String?) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM backup WHERE project_id = ? AND NOT is_collection ORDER BY created_at DESC, id",
                arguments: [principal.projectID.lowercasedString]
            ).map { try Self.backup($0, sealer) }.filter { indexName == nil || $0.source.name == indexName }
        }
    }

    public func backup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in try Self.fetchBackup(db, id, project: principal.projectID, sealer) }
    }

    public func backupKey(_ id: UUID) async throws -> SymmetricKey {
        let sealer = sealer
        return try await database.read { db in
            guard let sealed = try Data.fetchOne(db, sql: "SELECT data_key FROM backup WHERE id = ?", arguments: [id.lowercasedString]) else {
                throw ConiferError.notFound("Backup \(id.lowercasedString) not found.")
            }
            return SymmetricKey(data: try sealer.open(sealed, .backupKey))
        }
    }

    public func backupIDs() async throws -> Set<UUID> {
        try await database.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM backup").compactMap(UUID.init(uuidString:))) }
    }

    public func deleteBackup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await writeChange { db in
            let backup = try Self.fetchBackup(db, id, project: principal.projectID, sealer)
            try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [id.lowercasedString])
            return backup
        }
    }

    private static func fetchBackup(_ db: Database, _ id: UUID, project: UUID, _ sealer: ColumnSealer) throws -> BackupRecord {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT * FROM backup WHERE id = ? AND project_id = ? AND NOT is_collection", arguments: [id.lowercasedString, project.lowercasedString]
        ) else { throw ConiferError.notFound("Backup \(id.lowercasedString) not found.") }
        return try backup(row, sealer)
    }

    /// A backup's row; its description and source definition (with the index's tags) are sealed.
    private static func backup(_ row: Row, _ sealer: ColumnSealer) throws -> BackupRecord {
        BackupRecord(
            id: try uuid(row["id"]), name: row["name"],
            description: try (row["description"] as Data?).map { String(decoding: try sealer.open($0, .backupDescription), as: UTF8.self) },
            source: try sealer.open(json: row["source"] as Data, as: IndexDefinition.self, .backupSource),
            recordCount: row["record_count"], namespaceCount: row["namespace_count"], sizeBytes: row["size_bytes"], createdAt: row["created_at"],
            scheduleID: (row["schedule_id"] as String?).flatMap(UUID.init(uuidString:)), expiresAt: row["expires_at"], isCollection: row["is_collection"]
        )
    }

    // MARK: Restore jobs

    public func insertRestoreJob(_ job: RestoreJob) async throws {
        try await writeChange { db in
            try db.execute(
                sql: """
                    INSERT INTO restore_job (id, project_id, backup_id, target_index_id, target_index_name, status, percent_complete, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    job.id.lowercasedString, job.projectID.lowercasedString, job.backupID.lowercasedString, job.targetIndexID.lowercasedString,
                    job.targetIndexName, job.status.rawValue, job.percentComplete, job.createdAt,
                ]
            )
        }
    }

    public func updateRestoreJob(_ id: UUID, status: RestoreJob.Status, percentComplete: Double, error: String?) async throws {
        let done = status == .completed || status == .failed
        try await writeChange { db in
            try db.execute(
                sql: "UPDATE restore_job SET status = ?, percent_complete = ?, error = ?, completed_at = ? WHERE id = ?",
                arguments: [status.rawValue, percentComplete, error, done ? Date() : nil, id.lowercasedString]
            )
        }
    }

    public func restoreJobs(pass: AuthorizationPass) async throws -> [RestoreJob] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM restore_job WHERE project_id = ? ORDER BY created_at DESC, id", arguments: [principal.projectID.lowercasedString]
            ).map(Self.restoreJob)
        }
    }

    public func restoreJob(_ id: UUID, pass: AuthorizationPass) async throws -> RestoreJob {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT * FROM restore_job WHERE id = ? AND project_id = ?", arguments: [id.lowercasedString, principal.projectID.lowercasedString]
            ) else { throw ConiferError.notFound("Restore job \(id.lowercasedString) not found.") }
            return try Self.restoreJob(row)
        }
    }

    public func failInterruptedRestoreJobs() async throws -> Int {
        try await writeChange { db in
            // An index still being restored at start is a half index: gone from the catalog (its files are orphans,
            // retired at start). A completed job cleared its index's mark.
            try db.execute(sql: "DELETE FROM index_definition WHERE restore_job_id IS NOT NULL")
            try db.execute(
                sql: "UPDATE restore_job SET status = ?, error = ?, completed_at = ? WHERE status IN (?, ?)",
                arguments: [
                    RestoreJob.Status.failed.rawValue, "The server stopped while the index was being restored; nothing of it was kept. Create the index from the backup again.",
                    Date(), RestoreJob.Status.pending.rawValue, RestoreJob.Status.inProgress.rawValue,
                ]
            )
            return db.changesCount
        }
    }

    private static func restoreJob(_ row: Row) throws -> RestoreJob {
        RestoreJob(
            id: try uuid(row["id"]), projectID: try uuid(row["project_id"]), backupID: try uuid(row["backup_id"]),
            targetIndexID: try uuid(row["target_index_id"]), targetIndexName: row["target_index_name"],
            status: RestoreJob.Status(rawValue: row["status"]) ?? .failed, percentComplete: row["percent_complete"], error: row["error"],
            createdAt: row["created_at"], completedAt: row["completed_at"]
        )
    }

    // MARK: Restored indexes

    public func finishRestoredIndex(_ id: UUID) async throws {
        try await writeChange { db in
            try db.execute(sql: "UPDATE index_definition SET restore_job_id = NULL WHERE id = ?", arguments: [id.lowercasedString])
            guard db.changesCount == 1 else { throw ConiferError.notFound("The index being restored was deleted meanwhile.") }
        }
    }
}

// MARK: Backup schedules

extension SQLiteCatalog {
    /// A schedule's row with its index's name.
    private static let scheduleSelect = "SELECT s.*, i.name AS index_name FROM backup_schedule s JOIN index_definition i ON i.id = s.index_id"

    public func insertBackupSchedule(_ schedule: BackupSchedule) async throws {
        try await writeChange { db in
            if schedule.enabled { try Self.requireNoOtherEnabledSchedule(db, index: schedule.indexID, except: schedule.id) }
            try db.execute(
                sql: """
                    INSERT INTO backup_schedule (id, project_id, index_id, name, frequency, retention_days, enabled, next_run, next_backup_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    schedule.id.lowercasedString, schedule.projectID.lowercasedString, schedule.indexID.lowercasedString, schedule.name,
                    schedule.frequency.rawValue, schedule.retentionDays, schedule.enabled, schedule.next?.at,
                    schedule.next?.backupID.lowercasedString, schedule.createdAt,
                ]
            )
        }
    }

    public func backupSchedules(indexID: UUID, pass: AuthorizationPass) async throws -> [BackupSchedule] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "\(Self.scheduleSelect) WHERE s.index_id = ? AND s.project_id = ? ORDER BY s.created_at, s.id",
                arguments: [indexID.lowercasedString, principal.projectID.lowercasedString]
            ).map(Self.schedule)
        }
    }

    public func backupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in try Self.fetchSchedule(db, id, project: principal.projectID) }
    }

    public func updateBackupSchedule(
        _ id: UUID, pass: AuthorizationPass, _ change: @Sendable (inout BackupSchedule) throws -> Void
    ) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await writeChange { db in
            let current = try Self.fetchSchedule(db, id, project: principal.projectID)
            var next = current
            try change(&next)
            if next.enabled && !current.enabled { try Self.requireNoOtherEnabledSchedule(db, index: next.indexID, except: id) }
            try db.execute(
                sql: "UPDATE backup_schedule SET frequency = ?, retention_days = ?, enabled = ?, next_run = ?, next_backup_id = ? WHERE id = ?",
                arguments: [
                    next.frequency.rawValue, next.retentionDays, next.enabled, next.next?.at, next.next?.backupID.lowercasedString, id.lowercasedString,
                ]
            )
            if next.retentionDays != current.retentionDays {
                // The backups it took keep for the new number of days from when each was taken.
                for row in try Row.fetchAll(db, sql: "SELECT id, created_at FROM backup WHERE schedule_id = ?", arguments: [id.lowercasedString]) {
                    try db.execute(
                        sql: "UPDATE backup SET expires_at = ? WHERE id = ?",
                        arguments: [BackupSchedule.expiry(of: row["created_at"], retentionDays: next.retentionDays), row["id"] as String]
                    )
                }
            }
            return next
        }
    }

    public func deleteBackupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await writeChange { db in
            let schedule = try Self.fetchSchedule(db, id, project: principal.projectID)
            try db.execute(sql: "DELETE FROM backup_schedule WHERE id = ?", arguments: [id.lowercasedString])
            return schedule
        }
    }

    public func scheduledBackups(schedule: UUID, pass: AuthorizationPass) async throws -> [BackupRecord] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM backup WHERE schedule_id = ? AND project_id = ? ORDER BY created_at DESC, id",
                arguments: [schedule.lowercasedString, principal.projectID.lowercasedString]
            ).map { try Self.backup($0, sealer) }
        }
    }

    public func dueBackupSchedules(at now: Date) async throws -> [DueBackupSchedule] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "\(Self.scheduleSelect) WHERE s.enabled AND s.next_run <= ? ORDER BY s.next_run, s.id", arguments: [now]
            ).map { row in
                let schedule = try Self.schedule(row)
                guard let index = try IndexRow.fetchOne(db, key: schedule.indexID.lowercasedString)?.definition(sealer) else {
                    throw ConiferError(.internalError, "A backup schedule without its index")
                }
                guard let owner = try Row.fetchOne(
                    db, sql: "SELECT o.id, o.plan FROM organization o JOIN project p ON p.organization_id = o.id WHERE p.id = ?",
                    arguments: [schedule.projectID.lowercasedString]
                ) else { throw ConiferError(.internalError, "A backup schedule without its organization") }
                let plan = Plan(rawValue: owner["plan"] as String) ?? .starter
                return DueBackupSchedule(schedule: schedule, index: index, plan: plan, organizationID: try Self.uuid(owner["id"]))
            }
        }
    }

    public func insertScheduledBackup(_ backup: BackupRecord, dataKey: SymmetricKey, slot: Date, next: BackupSchedule.NextRun) async throws -> Bool {
        let sealer = sealer
        guard let schedule = backup.scheduleID else { throw ConiferError(.internalError, "A scheduled backup without its schedule") }
        return try await writeChange { db in
            guard try Self.advance(db, schedule, from: slot, to: next) else { return false }
            try Self.insert(backup, dataKey: dataKey, db, sealer)
            return true
        }
    }

    public func skipScheduledRun(_ schedule: UUID, slot: Date, next: BackupSchedule.NextRun) async throws {
        try await writeChange { db in _ = try Self.advance(db, schedule, from: slot, to: next) }
    }

    public func deleteExpiredBackups(at now: Date) async throws -> [ExpiredBackup] {
        try await writeChange { db in
            let expired = try Row.fetchAll(
                db, sql: "SELECT b.id, b.name, b.project_id, p.organization_id FROM backup b JOIN project p ON p.id = b.project_id WHERE b.expires_at <= ?",
                arguments: [now]
            ).map { row in
                ExpiredBackup(
                    id: try Self.uuid(row["id"]), name: row["name"], projectID: try Self.uuid(row["project_id"]),
                    organizationID: try Self.uuid(row["organization_id"])
                )
            }
            try db.execute(sql: "DELETE FROM backup WHERE expires_at <= ?", arguments: [now])
            return expired
        }
    }

    /// Moves an enabled schedule's next run from `slot` to `next`; false when the schedule is gone, disabled or
    /// planned differently meanwhile (a change through the API wins over a run in progress).
    private static func advance(_ db: Database, _ schedule: UUID, from slot: Date, to next: BackupSchedule.NextRun) throws -> Bool {
        try db.execute(
            sql: "UPDATE backup_schedule SET next_run = ?, next_backup_id = ? WHERE id = ? AND enabled AND next_run = ?",
            arguments: [next.at, next.backupID.lowercasedString, schedule.lowercasedString, slot]
        )
        return db.changesCount == 1
    }

    private static func requireNoOtherEnabledSchedule(_ db: Database, index: UUID, except id: UUID) throws {
        let enabled = try String.fetchOne(
            db, sql: "SELECT name FROM backup_schedule WHERE index_id = ? AND enabled AND id != ?", arguments: [index.lowercasedString, id.lowercasedString]
        )
        if let enabled {
            throw ConiferError.alreadyExists("The index already has an enabled backup schedule (\(enabled)); disable or delete it first.")
        }
    }

    private static func fetchSchedule(_ db: Database, _ id: UUID, project: UUID) throws -> BackupSchedule {
        guard let row = try Row.fetchOne(
            db, sql: "\(scheduleSelect) WHERE s.id = ? AND s.project_id = ?", arguments: [id.lowercasedString, project.lowercasedString]
        ) else { throw ConiferError.notFound("Backup schedule \(id.lowercasedString) not found.") }
        return try schedule(row)
    }

    private static func schedule(_ row: Row) throws -> BackupSchedule {
        let nextRun: Date? = row["next_run"]
        let nextBackup = (row["next_backup_id"] as String?).flatMap(UUID.init(uuidString:))
        return BackupSchedule(
            id: try uuid(row["id"]), projectID: try uuid(row["project_id"]), indexID: try uuid(row["index_id"]), indexName: row["index_name"],
            name: row["name"], frequency: BackupSchedule.Frequency(rawValue: row["frequency"]) ?? .daily, retentionDays: row["retention_days"],
            enabled: row["enabled"], next: nextRun.map { BackupSchedule.NextRun(at: $0, backupID: nextBackup ?? UUID()) }, createdAt: row["created_at"]
        )
    }
}
