// ConiferAccess — identity and policy: `AdminService` and `CatalogService` (every rule of the catalog) over
// `CatalogStore` (rows only, and the audit log, in SQL both `SQLiteCatalog` and `PostgresCatalog` run), password
// hashing, sign-in throttling and the token service. Its allowed imports: docs/ARCHITECTURE.md.

import ConiferCore
import Crypto
import Foundation

/// What the first start of a data directory created.
public struct BootstrapResult: Sendable {
    public var organizationID: UUID
    public var projectID: UUID
    /// The ProjectEditor key of the default project. Shown once, never stored in clear.
    public var apiKeyValue: String
    /// True when Conifer generated the key (and must print it); false when the operator supplied it.
    public var generatedKey: Bool
}

/// A new API key and the only copy of its secret.
public struct CreatedAPIKey: Sendable {
    public var id: UUID
    public var projectID: UUID
    public var name: String
    public var roles: [APIKeyRole]
    public var value: String
}

/// The catalog: organizations, projects, API keys and index definitions.
///
/// A protocol so that a PostgreSQL catalog can stand beside the SQLite one (ARCHITECTURE.md §6). Every
/// index operation takes the request's authorization pass and only ever sees the pass's project.
public protocol Catalog: Sendable {
    /// Creates the first organization, project and API key unless the catalog already has them.
    /// Returns `nil` when the catalog was bootstrapped before.
    func bootstrapIfNeeded(apiKeyValue: String?) async throws -> BootstrapResult?

    /// The principal an API key value stands for, or `nil` for an unknown key.
    func authenticate(apiKey: String) async throws -> Principal?
    /// The principal of an API key when the catalog answered for it since its last change, without reading the
    /// catalog; nil when it would have to be read (then `authenticate` decides). For a request that must not wait.
    func principalIfCached(apiKey: String) -> Principal?

    func listIndexes(pass: AuthorizationPass) async throws -> [IndexDefinition]
    /// One index of the pass's project (whatever the pass was granted for: describing the index or using
    /// its data plane).
    func index(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition
    func createIndex(_ creation: IndexCreation, pass: AuthorizationPass) async throws -> IndexDefinition
    func configureIndex(named name: String, _ change: IndexConfiguration, pass: AuthorizationPass) async throws -> IndexDefinition
    /// Deletes an index definition and returns it, so that its data can be dropped.
    func deleteIndex(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition

    /// The plan of an organization (Starter when it no longer exists).
    func plan(of organization: UUID) async throws -> Plan
    /// What a project's requests are rate-limited by: its organization's plan and the operator's limits for it.
    func rateLimitSettings(project: UUID) async throws -> (plan: Plan, rateLimits: String?)

    /// Removes an index definition whatever its settings: the creation that made it is being undone (its data
    /// key could not be made). A system call.
    func removeIndex(_ id: UUID) async throws

    /// The customer-managed key of a project, if it has one. A system call (the key provider's, when it opens
    /// an index of the project).
    func cmekKey(project: UUID) async throws -> CMEKKey?

    /// Every index of every project. A system call (start-up work on index files: clean-up, sealing).
    func allIndexes() async throws -> [IndexDefinition]

    /// An index of the pass's project for its data plane, with the plan of the project's organization (for
    /// the plan's quotas) and the networks its project allows, in one read.
    func dataPlaneIndex(named name: String, pass: AuthorizationPass) async throws -> DataPlaneIndex
    /// The same, when the catalog answered for it since its last change, without reading the catalog; nil when it
    /// would have to be read.
    func dataPlaneIndexIfCached(named name: String, pass: AuthorizationPass) -> DataPlaneIndex?
    /// The regions where the pass's project has private endpoints (its indexes there have a `private_host`).
    func privateEndpointRegions(pass: AuthorizationPass) async throws -> Set<String>

    // MARK: Backups and restore jobs

    /// Records a backup whose file is written, with the data key that file is sealed under. A system call.
    func insertBackup(_ backup: BackupRecord, dataKey: SymmetricKey) async throws
    /// The pass's project's backups, newest first (of one index when `indexName` is given); collections are
    /// not among them.
    func backups(pass: AuthorizationPass, indexName: String?) async throws -> [BackupRecord]
    func backup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord
    /// The data key of a backup's file. A system call (the restore job's).
    func backupKey(_ id: UUID) async throws -> SymmetricKey
    /// The ids of every backup and collection. A system call (start-up clean-up of files).
    func backupIDs() async throws -> Set<UUID>
    /// Removes a backup's row and with it its data key.
    func deleteBackup(_ id: UUID, pass: AuthorizationPass) async throws -> BackupRecord
    func insertRestoreJob(_ job: RestoreJob) async throws
    func updateRestoreJob(_ id: UUID, status: RestoreJob.Status, percentComplete: Double, error: String?) async throws
    func restoreJobs(pass: AuthorizationPass) async throws -> [RestoreJob]
    func restoreJob(_ id: UUID, pass: AuthorizationPass) async throws -> RestoreJob
    /// Marks the jobs a stopped server left unfinished as failed and removes every index still being restored
    /// (at start); returns how many jobs.
    func failInterruptedRestoreJobs(home: String?) async throws -> Int
    /// Throws 403 QUOTA_EXCEEDED when the project holds its plan's number of backups (or collections); the
    /// insert checks again, this only spares writing a backup that could not be kept.
    func requireRoom(forCollection: Bool, project: UUID) async throws
    /// Marks a restored index complete; fails when it was deleted meanwhile. A system call.
    func finishRestoredIndex(_ id: UUID) async throws

    // MARK: Collections (backups of pod-based indexes, by name; `insertBackup` adds them)

    /// The pass's project's collections, by name.
    func collections(pass: AuthorizationPass) async throws -> [BackupRecord]
    func collection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord
    /// Removes a collection's row and with it its data key.
    func deleteCollection(named name: String, pass: AuthorizationPass) async throws -> BackupRecord

    // MARK: Backup schedules

    /// Adds a schedule; refused (409) when it is enabled and its index already has an enabled one.
    func insertBackupSchedule(_ schedule: BackupSchedule) async throws
    /// The schedules of one index of the pass's project, oldest first.
    func backupSchedules(indexID: UUID, pass: AuthorizationPass) async throws -> [BackupSchedule]
    func backupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule
    /// Changes a schedule in one transaction: enabling refuses (409) while another schedule of the index is
    /// enabled; a new retention re-times the expiry of the backups the schedule took.
    func updateBackupSchedule(
        _ id: UUID, pass: AuthorizationPass, _ change: @escaping @Sendable (inout BackupSchedule) throws -> Void
    ) async throws -> BackupSchedule
    /// Removes a schedule; the backups it took stay (until they expire).
    func deleteBackupSchedule(_ id: UUID, pass: AuthorizationPass) async throws -> BackupSchedule
    /// The backups a schedule took, newest first.
    func scheduledBackups(schedule: UUID, pass: AuthorizationPass) async throws -> [BackupRecord]
    /// Enabled schedules whose next run is at or before `now`, with their index and its organization's plan. A
    /// system call (the scheduler's).
    func dueBackupSchedules(at now: Date) async throws -> [DueBackupSchedule]
    /// Records the backup a schedule took for its run `slot` and plans its next run, in one transaction; false
    /// (nothing recorded) when the schedule changed or went meanwhile. A system call.
    func insertScheduledBackup(_ backup: BackupRecord, dataKey: SymmetricKey, slot: Date, next: BackupSchedule.NextRun) async throws -> Bool
    /// Plans a schedule's next run without a backup (its run could not be taken). A system call.
    func skipScheduledRun(_ schedule: UUID, slot: Date, next: BackupSchedule.NextRun) async throws
    /// Backups whose retention has ended by `now`. A system call (the scheduler's).
    func expiredBackups(at now: Date) async throws -> [ExpiredBackup]
    /// Deletes an expired backup's row (and data key); false when it is gone or no longer expired by `now`. A
    /// system call (the scheduler's, which then removes its file).
    func deleteExpiredBackup(_ id: UUID, at now: Date) async throws -> Bool

    // MARK: Usage ledger (system calls: the usage meter's)

    /// Adds quantities to the ledger, each to what its resource's SKU and hour already hold.
    func recordUsage(_ entries: [UsageEntry]) async throws
    /// The units of each organization in the hours from `start` on.
    func usageTotals(since start: Date) async throws -> [UUID: UnitTotals]
    /// An organization's ledger entries from `from` up to `to`, oldest first.
    func usage(organization: UUID, from: Date, to: Date) async throws -> [UsageEntry]
    /// Every index, backup and collection whose storage is metered.
    func storedResources() async throws -> [StoredResource]

    // MARK: Mail outbox (system calls: the mail sender's)

    func dueMail(at now: Date, limit: Int) async throws -> [OutboxMail]
    /// Records a delivery attempt's outcome.
    func saveMail(_ mail: OutboxMail) async throws
}

/// A resource whose storage the ledger meters: how its entries are named (`entry`, with its storage SKU and no
/// quantity) and, for backups and collections, its size in bytes.
public struct StoredResource: Sendable, Equatable {
    public var entry: UsageEntry
    public var sizeBytes: Int?
    /// The server that holds it and meters it (`IndexDefinition.home`; a backup's, its source index's).
    public var home: String?
}

/// A backup: a point-in-time copy of an index's records (`IndexBackup`), kept after the index is deleted.
public struct BackupRecord: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var description: String?
    /// The source index's definition when the backup was taken.
    public var source: IndexDefinition
    public var recordCount: Int
    public var namespaceCount: Int
    public var sizeBytes: Int
    public var createdAt: Date
    /// The schedule that took it (nil for one taken on request).
    public var scheduleID: UUID?
    /// When a scheduled backup's retention ends and it is deleted.
    public var expiresAt: Date?
    /// A collection (Pinecone's backups of pod-based indexes: named, unique per project, not listed as backups).
    public var isCollection: Bool

    public init(
        id: UUID, name: String, description: String?, source: IndexDefinition, recordCount: Int, namespaceCount: Int, sizeBytes: Int,
        createdAt: Date, scheduleID: UUID? = nil, expiresAt: Date? = nil, isCollection: Bool = false
    ) {
        self.isCollection = isCollection
        self.scheduleID = scheduleID
        self.expiresAt = expiresAt
        self.id = id
        self.name = name
        self.description = description
        self.source = source
        self.recordCount = recordCount
        self.namespaceCount = namespaceCount
        self.sizeBytes = sizeBytes
        self.createdAt = createdAt
    }
}

/// A schedule backing up one index on a fixed cadence and keeping each backup for `retentionDays`.
public struct BackupSchedule: Sendable, Equatable {
    public enum Frequency: String, Sendable, CaseIterable {
        case daily, weekly, monthly

        /// The run after `slot`: a day, a week or a calendar month (UTC) later.
        public func run(after slot: Date) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let step: DateComponents = switch self {
            case .daily: DateComponents(day: 1)
            case .weekly: DateComponents(day: 7)
            case .monthly: DateComponents(month: 1)
            }
            return calendar.date(byAdding: step, to: slot) ?? slot.addingTimeInterval(86_400)
        }

        /// The first run after `slot` that is later than `now`: runs missed while the server was stopped are
        /// one run (taken now), not one each.
        public func run(after slot: Date, laterThan now: Date) -> Date {
            var next = run(after: slot)
            while next <= now { next = run(after: next) }
            return next
        }
    }

    /// A planned run: when, and the id its backup will have (listed in the history before it is taken).
    public struct NextRun: Sendable, Equatable {
        public var at: Date
        public var backupID: UUID
        public init(at: Date, backupID: UUID = UUID()) {
            self.at = at
            self.backupID = backupID
        }
    }

    /// When a backup taken at `taken` by a schedule keeping backups `retentionDays` days is deleted.
    public static func expiry(of taken: Date, retentionDays: Int) -> Date {
        taken.addingTimeInterval(Double(retentionDays) * 86_400)
    }

    public var id: UUID
    public var projectID: UUID
    public var indexID: UUID
    public var indexName: String
    public var name: String
    public var frequency: Frequency
    public var retentionDays: Int
    public var enabled: Bool
    /// Nil while disabled.
    public var next: NextRun?
    public var createdAt: Date

    public init(
        id: UUID, projectID: UUID, indexID: UUID, indexName: String, name: String, frequency: Frequency, retentionDays: Int, enabled: Bool,
        next: NextRun?, createdAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.indexID = indexID
        self.indexName = indexName
        self.name = name
        self.frequency = frequency
        self.retentionDays = retentionDays
        self.enabled = enabled
        self.next = next
        self.createdAt = createdAt
    }
}

/// A schedule whose run is due, with what taking it needs.
public struct DueBackupSchedule: Sendable {
    public var schedule: BackupSchedule
    /// The index as it is now.
    public var index: IndexDefinition
    public var plan: Plan
    public var organizationID: UUID
}

/// A backup deleted because its retention ran out: what its audit event names.
public struct ExpiredBackup: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var projectID: UUID
    public var organizationID: UUID
}

/// A job creating an index from a backup. The index becomes visible only when the job completes.
public struct RestoreJob: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending = "Pending", inProgress = "InProgress", completed = "Completed", failed = "Failed"
    }

    public var id: UUID
    public var projectID: UUID
    public var backupID: UUID
    public var targetIndexID: UUID
    public var targetIndexName: String
    public var status: Status
    public var percentComplete: Double
    public var error: String?
    public var createdAt: Date
    public var completedAt: Date?

    public init(
        id: UUID, projectID: UUID, backupID: UUID, targetIndexID: UUID, targetIndexName: String, status: Status, percentComplete: Double,
        error: String?, createdAt: Date, completedAt: Date?
    ) {
        self.id = id
        self.projectID = projectID
        self.backupID = backupID
        self.targetIndexID = targetIndexID
        self.targetIndexName = targetIndexName
        self.status = status
        self.percentComplete = percentComplete
        self.error = error
        self.createdAt = createdAt
        self.completedAt = completedAt
    }
}

/// What the data plane needs to know of an index before it touches the index's data.
public struct DataPlaneIndex: Sendable {
    public var definition: IndexDefinition
    /// The plan of the index's organization, whose quotas apply.
    public var plan: Plan
    /// The project's private endpoints in the index's region and its private-only setting.
    public var network: PrivateNetworkPolicy
    /// The operator's rate limits for the project (`--rate-limits` syntax), over its plan's.
    public var rateLimits: String?
}

/// Read and write units summed over some hours.
public struct UnitTotals: Sendable, Equatable {
    public var read: Double
    public var write: Double

    public init(read: Double = 0, write: Double = 0) {
        self.read = read
        self.write = write
    }
}
