import ConiferCore
import Crypto
import Foundation

/// Stores and loads the catalog's rows and decides nothing: the policy lives in `AdminService` and
/// `CatalogService`. A PostgreSQL catalog implements this beside the SQLite one.
protocol CatalogStore: Sendable {
    /// Runs `work` in one read transaction.
    func read<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T
    /// Runs `work` in one write transaction: every change in it commits together or not at all.
    func write<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T
    /// The catalog's version now: it differs after any commit, by any process or server.
    func version() async throws -> CatalogVersion
    /// The same when it can be had without asking a database server (SQLite's, from its files); nil on PostgreSQL.
    var localVersion: CatalogVersion? { get }
}

/// Which role bindings to load; nil matches anything.
struct BindingQuery {
    var principalType: RoleBindingInfo.PrincipalType?
    var principalID: UUID?
    var resourceType: RoleBindingInfo.ResourceType?
    var resourceID: UUID?
    var role: MembershipRole?
}

/// The rows of the catalog inside one transaction.
protocol CatalogRows {
    func organization(_ id: UUID) throws -> OrganizationRow?
    func firstOrganization() throws -> OrganizationRow?
    func save(_ row: OrganizationRow) throws
    /// Removes the organization with its service accounts, invites and role bindings (its projects must be gone).
    func delete(_ row: OrganizationRow) throws

    func project(_ id: UUID) throws -> ProjectRow?
    /// Projects of an organization, oldest first.
    func projects(organization: UUID) throws -> [ProjectRow]
    func save(_ row: ProjectRow) throws
    /// An organization's billing contact (opened from its sealed column).
    func billingContact(of row: OrganizationRow) throws -> BillingContact?
    /// Seals `contact` into the row (saved with it).
    func setBillingContact(_ contact: BillingContact?, of row: inout OrganizationRow) throws
    /// A project's tags (opened from their sealed column).
    func tags(of row: ProjectRow) throws -> [String: String]
    /// Seals `tags` into the row (saved with it).
    func setTags(_ tags: [String: String], of row: inout ProjectRow) throws
    /// Deletes a project, its API keys and the role bindings on it.
    func delete(_ row: ProjectRow) throws
    func indexCount(project: UUID) throws -> Int
    func backupCount(project: UUID) throws -> Int
    /// Deletes the project's backups (their data keys with them); returns their ids, for their files.
    func deleteBackups(project: UUID) throws -> [UUID]
    func indexes(project: UUID) throws -> [IndexDefinition]
    func deleteIndex(_ id: UUID) throws

    /// The project's customer-managed key (at most one), its external id unsealed.
    func cmekKey(project: UUID) throws -> CMEKKey?
    func insert(_ key: CMEKKey) throws
    func deleteCMEKKey(_ id: UUID) throws

    /// The project's private endpoints, oldest first.
    func privateEndpoints(project: UUID) throws -> [PrivateEndpoint]
    func insert(_ endpoint: PrivateEndpoint) throws
    func deletePrivateEndpoint(_ id: UUID) throws

    func apiKey(_ id: UUID) throws -> APIKeyRow?
    func apiKeys(project: UUID) throws -> [APIKeyRow]
    func save(_ row: APIKeyRow) throws
    func delete(_ row: APIKeyRow) throws

    func serviceAccount(_ id: UUID) throws -> ServiceAccountRow?
    func serviceAccount(clientID: String) throws -> ServiceAccountRow?
    func serviceAccounts(organization: UUID) throws -> [ServiceAccountRow]
    func save(_ row: ServiceAccountRow) throws
    /// Deletes a service account and every role binding it holds.
    func delete(_ row: ServiceAccountRow) throws

    func roleBinding(_ id: UUID) throws -> RoleBindingRow?
    /// Bindings matching `query`, oldest first.
    func roleBindings(_ query: BindingQuery) throws -> [RoleBindingRow]
    /// Inserts a binding, replacing the principal's previous binding on the same resource.
    func replace(_ row: RoleBindingRow) throws
    func delete(_ row: RoleBindingRow) throws

    func user(_ id: UUID) throws -> UserRow?
    func user(email: String) throws -> UserRow?
    /// The users with these ids, by email.
    func users(_ ids: [UUID]) throws -> [UserRow]
    func save(_ row: UserRow) throws

    func invite(_ id: UUID) throws -> InviteRow?
    func invite(tokenHash: String) throws -> InviteRow?
    func invites(organization: UUID) throws -> [InviteRow]
    func save(_ row: InviteRow) throws
    func delete(_ row: InviteRow) throws

    // MARK: Indexes

    func index(named name: String, project: UUID) throws -> IndexDefinition?
    func index(_ id: UUID) throws -> IndexDefinition?
    /// Every index of every project.
    func allIndexes() throws -> [IndexDefinition]
    func insert(_ index: IndexDefinition) throws
    func update(_ index: IndexDefinition) throws
    /// Clears an index's mark of being restored; false when the index is gone.
    func clearRestoreMark(_ id: UUID) throws -> Bool
    /// An index with what its data plane needs, in one read: its organization's plan, its project's private
    /// endpoints in its region, private-only setting and operator rate limits (nil when the index or the
    /// organization is gone).
    func dataPlaneIndex(named name: String, project: UUID, organization: UUID) throws -> DataPlaneIndex?
    /// The regions of the project's private endpoints.
    func privateEndpointRegions(project: UUID) throws -> Set<String>
    /// The operator's rate limits of a project (`--rate-limits` syntax), and the plan of its organization.
    func rateLimits(project: UUID) throws -> (plan: Plan?, rateLimits: String?)
    /// Sets a project's operator rate limits; false when the project is gone.
    func setRateLimits(_ limits: String?, project: UUID) throws -> Bool
    /// The key whose secret has this hash, with its project's organization.
    func apiKey(secretHash: String) throws -> (key: APIKeyRow, organizationID: UUID)?

    // MARK: Backups and collections

    func insert(_ backup: BackupRecord, dataKey: SymmetricKey) throws
    /// The project's backups (newest first) or collections (by name).
    func backups(project: UUID, collections: Bool) throws -> [BackupRecord]
    func backupCount(project: UUID, collections: Bool) throws -> Int
    /// A backup (not a collection) of the project.
    func backup(_ id: UUID, project: UUID) throws -> BackupRecord?
    func collection(named name: String, project: UUID) throws -> BackupRecord?
    func backupKey(_ id: UUID) throws -> SymmetricKey?
    func backupIDs() throws -> Set<UUID>
    /// Deletes a backup's (or collection's) row and its data key.
    func deleteBackup(_ id: UUID) throws
    /// The backups a schedule took, newest first.
    func backups(schedule: UUID) throws -> [BackupRecord]
    func setExpiry(_ date: Date?, backup: UUID) throws
    /// Backups whose expiry is at or before `date`, with their organization.
    func backups(expiringBy date: Date) throws -> [ExpiredBackup]

    // MARK: Restore jobs

    func insert(_ job: RestoreJob) throws
    func update(_ job: RestoreJob) throws
    func restoreJob(_ id: UUID) throws -> RestoreJob?
    /// The project's jobs, newest first.
    func restoreJobs(project: UUID) throws -> [RestoreJob]
    func restoreJobs(status: [RestoreJob.Status]) throws -> [RestoreJob]

    // MARK: Backup schedules

    func insert(_ schedule: BackupSchedule) throws
    func update(_ schedule: BackupSchedule) throws
    func deleteSchedule(_ id: UUID) throws
    func schedule(_ id: UUID) throws -> BackupSchedule?
    /// The index's schedules, oldest first.
    func schedules(index: UUID) throws -> [BackupSchedule]
    /// Enabled schedules whose next run is at or before `date`, soonest first.
    func dueSchedules(at date: Date) throws -> [BackupSchedule]
    /// Moves an enabled schedule's next run from `slot` to `next`; false when it is gone, disabled or planned
    /// differently meanwhile (compare and set).
    func advance(schedule: UUID, from slot: Date, to next: BackupSchedule.NextRun) throws -> Bool

    // MARK: Usage ledger

    /// Adds quantities to what each resource's SKU and hour already hold (entries of a deleted organization are
    /// dropped).
    func addUsage(_ entries: [UsageEntry]) throws
    /// Read and write units of each organization in the hours from `start` on.
    func usageTotals(since start: Date) throws -> [UUID: UnitTotals]
    func usage(organization: UUID, from: Date, to: Date) throws -> [UsageEntry]
    /// Every index, backup and collection, as the ledger names it, with the size the catalog knows (backups and
    /// collections; nil for indexes, whose files tell).
    func storedResources() throws -> [StoredResource]

    // MARK: Mail outbox

    /// Adds a message to the outbox, or records what became of it.
    func save(_ mail: OutboxMail) throws
    /// Pending messages whose next attempt is due, oldest first.
    func dueMail(at now: Date, limit: Int) throws -> [OutboxMail]
    /// An organization's messages, newest first.
    func mail(organization: UUID, limit: Int) throws -> [OutboxMail]

    // MARK: Spend alerts

    /// An organization's alerts with a row (the spike alert has one once changed or fired), oldest first.
    func spendAlerts(organization: UUID) throws -> [SpendAlert]
    func save(_ alert: SpendAlert) throws
    func deleteSpendAlert(_ id: UUID) throws
    /// Every organization, oldest first.
    func organizations() throws -> [OrganizationRow]

    // MARK: Console sessions

    func consoleSession(secretHash: String) throws -> ConsoleSession?
    /// Adds a session, or records that it was seen.
    func save(_ session: ConsoleSession) throws
    func deleteConsoleSession(secretHash: String) throws
    /// Removes the sessions idle since before `idleCutoff` or past their absolute end; returns how many.
    func deleteConsoleSessions(lastSeenBefore idleCutoff: Date, orExpiringBefore now: Date) throws -> Int

    // MARK: Single sign-on

    func ssoSettings(organization: UUID) throws -> SSOSettings?
    /// Every organization's settings (one row per organization that configured SSO).
    func allSSOSettings() throws -> [SSOSettings]
    func save(_ settings: SSOSettings) throws
    func deleteSSOSettings(organization: UUID) throws
    /// Records an AuthnRequest sent for the organization, answerable until `expiresAt` (with the command-line
    /// client's loopback callback when `conifer login --sso` started it).
    func insertSAMLRequest(id: String, organization: UUID, expiresAt: Date, callback: SSOCallback?) throws
    /// Removes the request if it is outstanding for the organization and not expired at `now`; nil when it was not,
    /// else the callback it was sent with (`.some(nil)`: none).
    func takeSAMLRequest(id: String, organization: UUID, now: Date) throws -> SSOCallback??
    /// A one-time code for the command-line client, found by its hash until `expiresAt`.
    func insertSSOCode(hash: String, user: UUID, challenge: String, expiresAt: Date) throws
    /// Removes the code and returns its user and PKCE challenge, if it exists and has not expired.
    func takeSSOCode(hash: String, now: Date) throws -> (user: UUID, challenge: String)?
    /// Records a consumed assertion until `expiresAt`; false when it was already recorded (a replay).
    func recordSAMLAssertion(key: String, organization: UUID, expiresAt: Date) throws -> Bool
    /// Removes the requests and assertions past their time.
    func deleteExpiredSAMLState(now: Date) throws
}
