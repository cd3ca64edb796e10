import ConiferAccess
import ConiferCore
import Foundation

/// The time backup schedules go by: the wall clock, or for tests a compressed one.
public struct ScheduleClock: Sendable {
    public let now: @Sendable () -> Date
    /// How often (in real time) the scheduler looks for due runs and expired backups.
    public let checkEvery: Duration

    public init(now: @escaping @Sendable () -> Date, checkEvery: Duration) {
        self.now = now
        self.checkEvery = checkEvery
    }

    public static let wall = ScheduleClock(now: { Date() }, checkEvery: .seconds(30))

    /// `anchor + (wall − anchor) × scale`, checked twice a second: servers started with the same anchor see one
    /// continuous time across restarts, so a test can stop one mid-cadence and start another.
    public static func compressed(anchor: Date, scale: Double) -> ScheduleClock {
        ScheduleClock(now: { anchor.addingTimeInterval(Date().timeIntervalSince(anchor) * scale) }, checkEvery: .milliseconds(500))
    }

    /// `ANCHOR:SCALE` (Unix seconds, factor), the test-only `CONIFER_TEST_SCHEDULE_CLOCK`.
    public init?(compressed text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let anchor = Double(parts[0]), let scale = Double(parts[1]), scale >= 1 else { return nil }
        self = .compressed(anchor: Date(timeIntervalSince1970: anchor), scale: scale)
    }
}

/// Backup schedules: one enabled schedule per index takes a backup every day, week or month, and each backup
/// it takes is deleted `retentionDays` after it was taken. Runs are kept in the catalog (the next one planned
/// with the id its backup will have), so a restart neither skips nor doubles one: a run that fell due while the
/// server was stopped is taken once at start, and the next is planned after the current time.
extension BackupService {
    /// How many days a schedule may keep its backups.
    public static let retentionDays = 1...3650

    /// Scheduled backups are on the Standard and Enterprise plans (403 on Starter, which the SDK reads as a plan gate).
    func requireSchedulePlan(_ pass: AuthorizationPass) async throws {
        let principal = try pass.principal(requiring: .indexesRead)
        guard try await catalog.plan(of: principal.organizationID) != .starter else {
            throw ConiferError.forbidden("Scheduled backups need the Standard or Enterprise plan; upgrade the organization's plan.")
        }
    }

    public func createSchedule(
        _ pass: AuthorizationPass, indexName: String, name: String, frequency: BackupSchedule.Frequency, retentionDays: Int
    ) async throws -> BackupSchedule {
        let principal = try pass.principal(requiring: .indexesWrite)
        try await requireSchedulePlan(pass)
        let index = try await catalog.index(named: indexName, pass: pass)
        guard index.deployment.podCount == 0 else {
            throw ConiferError.invalidArgument("Backup schedules are for serverless and BYOC indexes; back up a pod-based index with a collection.")
        }
        try Self.requireBackupable(index)
        try IndexRules.validateName(name, what: "backup schedule")
        try Self.validate(retentionDays: retentionDays)
        let now = clock.now()
        let schedule = BackupSchedule(
            id: UUID(), projectID: principal.projectID, indexID: index.id, indexName: index.name, name: name, frequency: frequency,
            retentionDays: retentionDays, enabled: true, next: .init(at: frequency.run(after: now)), createdAt: now
        )
        try await catalog.insertBackupSchedule(schedule)
        return schedule
    }

    public func schedules(_ pass: AuthorizationPass, indexName: String) async throws -> [BackupSchedule] {
        try await requireSchedulePlan(pass)
        let index = try await catalog.index(named: indexName, pass: pass)
        return try await catalog.backupSchedules(indexID: index.id, pass: pass)
    }

    public func schedule(_ pass: AuthorizationPass, id: UUID) async throws -> BackupSchedule {
        try await requireSchedulePlan(pass)
        return try await catalog.backupSchedule(id, pass: pass)
    }

    /// Changes cadence, retention or whether the schedule runs. A new cadence, or enabling, plans the next run
    /// one period from now; disabling clears it.
    public func updateSchedule(
        _ pass: AuthorizationPass, id: UUID, frequency: BackupSchedule.Frequency?, retentionDays: Int?, enabled: Bool?
    ) async throws -> BackupSchedule {
        try pass.require(.indexesWrite)
        try await requireSchedulePlan(pass)
        if let retentionDays { try Self.validate(retentionDays: retentionDays) }
        let now = clock.now()
        return try await catalog.updateBackupSchedule(id, pass: pass) { schedule in
            let replan = (frequency != nil && frequency != schedule.frequency) || (enabled == true && !schedule.enabled)
            schedule.frequency = frequency ?? schedule.frequency
            schedule.retentionDays = retentionDays ?? schedule.retentionDays
            schedule.enabled = enabled ?? schedule.enabled
            if !schedule.enabled {
                schedule.next = nil
            } else if replan || schedule.next == nil {
                schedule.next = .init(at: schedule.frequency.run(after: now))
            }
        }
    }

    @discardableResult
    public func deleteSchedule(_ pass: AuthorizationPass, id: UUID) async throws -> BackupSchedule {
        try pass.require(.indexesWrite)
        try await requireSchedulePlan(pass)
        return try await catalog.deleteBackupSchedule(id, pass: pass)
    }

    /// The schedule's planned run (a backup record with the id and name its backup will have, nil while the
    /// schedule is disabled) and the backups it took, newest first.
    public func history(_ pass: AuthorizationPass, id: UUID) async throws -> (planned: BackupRecord?, taken: [BackupRecord]) {
        try await requireSchedulePlan(pass)
        let schedule = try await catalog.backupSchedule(id, pass: pass)
        let taken = try await catalog.scheduledBackups(schedule: id, pass: pass)
        guard let next = schedule.next else { return (nil, taken) }
        let index = try await catalog.index(named: schedule.indexName, pass: pass)
        return (scheduledBackup(of: index, schedule: schedule, run: next), taken)
    }

    /// One pass of the scheduler: takes every due run, then deletes the backups past their retention.
    @discardableResult
    public func runSchedules() async -> (taken: Int, expired: Int) {
        var taken = 0
        do {
            // On a shared catalog the server holding an index's files takes its backups.
            for due in try await catalog.dueBackupSchedules(at: clock.now()) where due.index.home == registry.home {
                if await run(due) { taken += 1 }
            }
        } catch {
            logger.warning("could not read the backup schedules", metadata: ["error": "\(error)"])
        }
        do {
            let now = clock.now()
            var deleted: [UUID] = []
            for backup in try await catalog.expiredBackups(at: now) {
                let outcome = systemOutcome(
                    .deleteExpiredBackup, task: .backup, organization: backup.organizationID,
                    resource: ["project_id": backup.projectID.lowercasedString, "backup_id": backup.id.lowercasedString], name: backup.name
                )
                if try await observer.record(outcome, { try await catalog.deleteExpiredBackup(backup.id, at: now) }) { deleted.append(backup.id) }
            }
            await removeFiles(deleted)
            return (taken, deleted.count)
        } catch {
            logger.warning("could not delete expired backups", metadata: ["error": "\(error)"])
            return (taken, 0)
        }
    }

    /// Takes one due run and plans the next; a run that cannot be taken (plan, key, disk) is logged and skipped.
    private func run(_ due: DueBackupSchedule) async -> Bool {
        let schedule = due.schedule
        guard let planned = schedule.next else { return false }
        let now = clock.now()
        let next = BackupSchedule.NextRun(at: schedule.frequency.run(after: planned.at, laterThan: now))
        do {
            guard due.plan != .starter else { throw ConiferError.forbidden("the organization is on the Starter plan") }
            try Self.requireBackupable(due.index)
            var backup = scheduledBackup(of: due.index, schedule: schedule, run: planned)
            backup.createdAt = now
            backup.expiresAt = BackupSchedule.expiry(of: now, retentionDays: schedule.retentionDays)
            let taken = try await take(due.index, as: backup, pass: .system(.backup))
            let outcome = systemOutcome(
                .createScheduledBackup, task: .backup, organization: due.organizationID,
                resource: [
                    "project_id": due.index.projectID.lowercasedString, "index_name": due.index.name, "schedule_id": schedule.id.lowercasedString,
                    "backup_id": taken.backup.id.lowercasedString,
                ],
                name: taken.backup.name
            )
            let catalog = self.catalog
            guard try await observer.record(outcome, {
                try await catalog.insertScheduledBackup(taken.backup, dataKey: taken.key, slot: planned.at, next: next)
            }) else {
                await removeFiles([planned.backupID])  // the schedule changed or went while the backup was written
                return false
            }
            return true
        } catch {
            logger.warning("scheduled backup not taken", metadata: ["schedule": "\(schedule.id)", "index": "\(due.index.name)", "error": "\(error)"])
            try? await catalog.skipScheduledRun(schedule.id, slot: planned.at, next: next)
            await removeFiles([planned.backupID])  // written, but not kept (a full project, a stop of the catalog)
            return false
        }
    }

    /// What the scheduler does, as the system actor, for the action observers: recorded with the change itself
    /// (`ActionObserver.record`), so a scheduled backup or an expiry never happens without its audit event.
    func systemOutcome(_ kind: AuditKind, task: SystemTask, organization: UUID, resource: [String: String], name: String) -> ActionOutcome {
        ActionOutcome(
            actor: .system(task), action: kind.name, kind: kind, resource: resource, result: .succeeded, organizationID: organization,
            details: ActionDetails(resourceID: .string(name), resourceName: name)
        )
    }

    /// The backup a schedule's run takes, before it is taken: its id and name (`<schedule>-<run time>`) are
    /// known from when the run is planned.
    func scheduledBackup(of index: IndexDefinition, schedule: BackupSchedule, run: BackupSchedule.NextRun) -> BackupRecord {
        BackupRecord(
            id: run.backupID, name: "\(schedule.name)-\(Self.runStamp.string(from: run.at))", description: nil, source: index,
            recordCount: 0, namespaceCount: 0, sizeBytes: 0, createdAt: run.at, scheduleID: schedule.id
        )
    }

    static func validate(retentionDays: Int) throws {
        guard Self.retentionDays.contains(retentionDays) else {
            throw ConiferError.invalidArgument("retention.expire_after_days must be between 1 and 3650, got \(retentionDays).")
        }
    }
}
