import ConiferCore
import Crypto
import Foundation
import GRDB

// The rows of indexes, backups, collections, restore jobs, backup schedules and the usage ledger, in one GRDB
// transaction: loads and stores only (the rules are `CatalogService`'s).

extension SQLiteRows {
    // MARK: Indexes

    func index(named name: String, project: UUID) throws -> IndexDefinition? {
        try IndexRow.filter(IndexRow.Columns.projectID == project.lowercasedString && IndexRow.Columns.name == name).fetchOne(db)?.definition(sealer)
    }

    func index(_ id: UUID) throws -> IndexDefinition? {
        try IndexRow.fetchOne(db, key: id.lowercasedString)?.definition(sealer)
    }

    func allIndexes() throws -> [IndexDefinition] {
        try IndexRow.order(IndexRow.Columns.name).fetchAll(db).map { try $0.definition(sealer) }
    }

    func insert(_ index: IndexDefinition) throws { try IndexRow(index, sealer).insert(db) }
    func update(_ index: IndexDefinition) throws { try IndexRow(index, sealer).update(db) }

    func clearRestoreMark(_ id: UUID) throws -> Bool {
        try db.execute(sql: "UPDATE index_definition SET restore_job_id = NULL WHERE id = ?", arguments: [id.lowercasedString])
        return db.changesCount == 1
    }

    func deleteIndexesBeingRestored() throws -> Int {
        try db.execute(sql: "DELETE FROM index_definition WHERE restore_job_id IS NOT NULL")
        return db.changesCount
    }

    func dataPlaneIndex(named name: String, project: UUID, organization: UUID) throws -> DataPlaneIndex? {
        guard let definition = try index(named: name, project: project),
              let plan = try OrganizationRow.fetchOne(db, key: organization.lowercasedString)?.plan
        else { return nil }
        let endpoints = try Row.fetchAll(
            db, sql: "SELECT id, name, vpc_endpoint_id, allowed_cidrs, created_at FROM private_endpoint WHERE project_id = ? AND region = ?",
            arguments: [project.lowercasedString, definition.region]
        ).map { row in
            PrivateEndpoint(
                id: try SQLiteCatalog.uuid(row["id"]), projectID: project, name: row["name"], region: definition.region,
                vpcEndpointID: row["vpc_endpoint_id"], allowedCIDRs: try blocks.parse(row["allowed_cidrs"]), createdAt: row["created_at"]
            )
        }
        let settings = try Row.fetchOne(
            db, sql: "SELECT private_endpoint_access_only, rate_limits FROM project WHERE id = ?", arguments: [project.lowercasedString]
        )
        return DataPlaneIndex(
            definition: definition, plan: plan,
            network: PrivateNetworkPolicy(endpoints: endpoints, privateOnly: settings?["private_endpoint_access_only"] ?? false),
            rateLimits: settings?["rate_limits"]
        )
    }

    func privateEndpointRegions(project: UUID) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT DISTINCT region FROM private_endpoint WHERE project_id = ?", arguments: [project.lowercasedString]))
    }

    func rateLimits(project: UUID) throws -> (plan: Plan?, rateLimits: String?) {
        let row = try Row.fetchOne(
            db, sql: "SELECT o.plan, p.rate_limits FROM project p JOIN organization o ON o.id = p.organization_id WHERE p.id = ?",
            arguments: [project.lowercasedString]
        )
        return ((row?["plan"] as String?).flatMap(Plan.init(rawValue:)), row?["rate_limits"])
    }

    func setRateLimits(_ limits: String?, project: UUID) throws -> Bool {
        try db.execute(sql: "UPDATE project SET rate_limits = ? WHERE id = ?", arguments: [limits, project.lowercasedString])
        return db.changesCount == 1
    }

    func apiKey(secretHash: String) throws -> (key: APIKeyRow, organizationID: UUID)? {
        // Looked up by hash: the SQL index only ever compares hashes, never the secret itself.
        guard let key = try APIKeyRow.filter(APIKeyRow.Columns.secretHash == secretHash).fetchOne(db),
              let project = try ProjectRow.fetchOne(db, key: key.projectID.lowercasedString)
        else { return nil }
        return (key, project.organizationID)
    }

    // MARK: Backups and collections

    func insert(_ backup: BackupRecord, dataKey: SymmetricKey) throws {
        try db.execute(
            sql: """
                INSERT INTO backup (id, project_id, name, description, source, record_count, namespace_count, size_bytes, data_key, created_at,
                    schedule_id, expires_at, is_collection)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                backup.id.lowercasedString, backup.source.projectID.lowercasedString, backup.name,
                try backup.description.map { try sealer.seal(Data($0.utf8), .backupDescription) }, try sealer.seal(json: backup.source, .backupSource),
                backup.recordCount, backup.namespaceCount, backup.sizeBytes, try sealer.seal(dataKey.withUnsafeBytes { Data($0) }, .backupKey),
                backup.createdAt, backup.scheduleID?.lowercasedString, backup.expiresAt, backup.isCollection,
            ]
        )
    }

    func backups(project: UUID, collections: Bool) throws -> [BackupRecord] {
        let order = collections ? "name" : "created_at DESC, id"
        return try Row.fetchAll(
            db, sql: "SELECT * FROM backup WHERE project_id = ? AND is_collection = ? ORDER BY \(order)", arguments: [project.lowercasedString, collections]
        ).map(backup)
    }

    func backupCount(project: UUID, collections: Bool) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM backup WHERE project_id = ? AND is_collection = ?", arguments: [project.lowercasedString, collections]
        ) ?? 0
    }

    func backup(_ id: UUID, project: UUID) throws -> BackupRecord? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM backup WHERE id = ? AND project_id = ? AND NOT is_collection", arguments: [id.lowercasedString, project.lowercasedString]
        ).map(backup)
    }

    func collection(named name: String, project: UUID) throws -> BackupRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM backup WHERE project_id = ? AND is_collection AND name = ?", arguments: [project.lowercasedString, name])
            .map(backup)
    }

    func backupKey(_ id: UUID) throws -> SymmetricKey? {
        try Data.fetchOne(db, sql: "SELECT data_key FROM backup WHERE id = ?", arguments: [id.lowercasedString])
            .map { SymmetricKey(data: try sealer.open($0, .backupKey)) }
    }

    func backupIDs() throws -> Set<UUID> {
        Set(try String.fetchAll(db, sql: "SELECT id FROM backup").compactMap(UUID.init(uuidString:)))
    }

    func deleteBackup(_ id: UUID) throws {
        try db.execute(sql: "DELETE FROM backup WHERE id = ?", arguments: [id.lowercasedString])
    }

    func backups(schedule: UUID) throws -> [BackupRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM backup WHERE schedule_id = ? ORDER BY created_at DESC, id", arguments: [schedule.lowercasedString])
            .map(backup)
    }

    func setExpiry(_ date: Date?, backup: UUID) throws {
        try db.execute(sql: "UPDATE backup SET expires_at = ? WHERE id = ?", arguments: [date, backup.lowercasedString])
    }

    func backups(expiringBy date: Date) throws -> [ExpiredBackup] {
        try Row.fetchAll(
            db, sql: "SELECT b.id, b.name, b.project_id, p.organization_id FROM backup b JOIN project p ON p.id = b.project_id WHERE b.expires_at <= ?",
            arguments: [date]
        ).map { row in
            ExpiredBackup(
                id: try SQLiteCatalog.uuid(row["id"]), name: row["name"], projectID: try SQLiteCatalog.uuid(row["project_id"]),
                organizationID: try SQLiteCatalog.uuid(row["organization_id"])
            )
        }
    }

    /// A backup's row; its description and source definition (with the index's tags) are sealed.
    private func backup(_ row: Row) throws -> BackupRecord {
        BackupRecord(
            id: try SQLiteCatalog.uuid(row["id"]), name: row["name"],
            description: try (row["description"] as Data?).map { String(decoding: try sealer.open($0, .backupDescription), as: UTF8.self) },
            source: try sealer.open(json: row["source"] as Data, as: IndexDefinition.self, .backupSource),
            recordCount: row["record_count"], namespaceCount: row["namespace_count"], sizeBytes: row["size_bytes"], createdAt: row["created_at"],
            scheduleID: (row["schedule_id"] as String?).flatMap(UUID.init(uuidString:)), expiresAt: row["expires_at"], isCollection: row["is_collection"]
        )
    }

    // MARK: Restore jobs

    func insert(_ job: RestoreJob) throws {
        try db.execute(
            sql: """
                INSERT INTO restore_job (id, project_id, backup_id, target_index_id, target_index_name, status, percent_complete, error, created_at,
                    completed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                job.id.lowercasedString, job.projectID.lowercasedString, job.backupID.lowercasedString, job.targetIndexID.lowercasedString,
                job.targetIndexName, job.status.rawValue, job.percentComplete, job.error, job.createdAt, job.completedAt,
            ]
        )
    }

    func update(_ job: RestoreJob) throws {
        try db.execute(
            sql: "UPDATE restore_job SET status = ?, percent_complete = ?, error = ?, completed_at = ? WHERE id = ?",
            arguments: [job.status.rawValue, job.percentComplete, job.error, job.completedAt, job.id.lowercasedString]
        )
    }

    func restoreJob(_ id: UUID) throws -> RestoreJob? {
        try Row.fetchOne(db, sql: "SELECT * FROM restore_job WHERE id = ?", arguments: [id.lowercasedString]).map(restoreJob)
    }

    func restoreJobs(project: UUID) throws -> [RestoreJob] {
        try Row.fetchAll(db, sql: "SELECT * FROM restore_job WHERE project_id = ? ORDER BY created_at DESC, id", arguments: [project.lowercasedString])
            .map(restoreJob)
    }

    func restoreJobs(status: [RestoreJob.Status]) throws -> [RestoreJob] {
        let marks = Array(repeating: "?", count: status.count).joined(separator: ", ")
        return try Row.fetchAll(
            db, sql: "SELECT * FROM restore_job WHERE status IN (\(marks)) ORDER BY created_at, id", arguments: StatementArguments(status.map(\.rawValue))
        ).map(restoreJob)
    }

    private func restoreJob(_ row: Row) throws -> RestoreJob {
        RestoreJob(
            id: try SQLiteCatalog.uuid(row["id"]), projectID: try SQLiteCatalog.uuid(row["project_id"]), backupID: try SQLiteCatalog.uuid(row["backup_id"]),
            targetIndexID: try SQLiteCatalog.uuid(row["target_index_id"]), targetIndexName: row["target_index_name"],
            status: RestoreJob.Status(rawValue: row["status"]) ?? .failed, percentComplete: row["percent_complete"], error: row["error"],
            createdAt: row["created_at"], completedAt: row["completed_at"]
        )
    }

    // MARK: Backup schedules

    /// A schedule's row with its index's name.
    private static let scheduleSelect = "SELECT s.*, i.name AS index_name FROM backup_schedule s JOIN index_definition i ON i.id = s.index_id"

    func insert(_ schedule: BackupSchedule) throws {
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

    func update(_ schedule: BackupSchedule) throws {
        try db.execute(
            sql: "UPDATE backup_schedule SET frequency = ?, retention_days = ?, enabled = ?, next_run = ?, next_backup_id = ? WHERE id = ?",
            arguments: [
                schedule.frequency.rawValue, schedule.retentionDays, schedule.enabled, schedule.next?.at, schedule.next?.backupID.lowercasedString,
                schedule.id.lowercasedString,
            ]
        )
    }

    func deleteSchedule(_ id: UUID) throws {
        try db.execute(sql: "DELETE FROM backup_schedule WHERE id = ?", arguments: [id.lowercasedString])
    }

    func schedule(_ id: UUID) throws -> BackupSchedule? {
        try Row.fetchOne(db, sql: "\(Self.scheduleSelect) WHERE s.id = ?", arguments: [id.lowercasedString]).map(Self.schedule)
    }

    func schedules(index: UUID) throws -> [BackupSchedule] {
        try Row.fetchAll(db, sql: "\(Self.scheduleSelect) WHERE s.index_id = ? ORDER BY s.created_at, s.id", arguments: [index.lowercasedString])
            .map(Self.schedule)
    }

    func dueSchedules(at date: Date) throws -> [BackupSchedule] {
        try Row.fetchAll(db, sql: "\(Self.scheduleSelect) WHERE s.enabled AND s.next_run <= ? ORDER BY s.next_run, s.id", arguments: [date])
            .map(Self.schedule)
    }

    func advance(schedule: UUID, from slot: Date, to next: BackupSchedule.NextRun) throws -> Bool {
        try db.execute(
            sql: "UPDATE backup_schedule SET next_run = ?, next_backup_id = ? WHERE id = ? AND enabled AND next_run = ?",
            arguments: [next.at, next.backupID.lowercasedString, schedule.lowercasedString, slot]
        )
        return db.changesCount == 1
    }

    private static func schedule(_ row: Row) throws -> BackupSchedule {
        let nextRun: Date? = row["next_run"]
        let nextBackup = (row["next_backup_id"] as String?).flatMap(UUID.init(uuidString:))
        return BackupSchedule(
            id: try SQLiteCatalog.uuid(row["id"]), projectID: try SQLiteCatalog.uuid(row["project_id"]), indexID: try SQLiteCatalog.uuid(row["index_id"]),
            indexName: row["index_name"], name: row["name"], frequency: BackupSchedule.Frequency(rawValue: row["frequency"]) ?? .daily,
            retentionDays: row["retention_days"], enabled: row["enabled"],
            next: nextRun.map { BackupSchedule.NextRun(at: $0, backupID: nextBackup ?? UUID()) }, createdAt: row["created_at"]
        )
    }

    // MARK: Usage ledger

    func addUsage(_ entries: [UsageEntry]) throws {
        for entry in entries {
            try db.execute(
                sql: """
                    INSERT INTO usage_ledger (resource_id, sku, hour, organization_id, project_id, resource_name, region, quantity)
                    SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM organization WHERE id = ?)
                    ON CONFLICT (resource_id, sku, hour) DO UPDATE SET
                        quantity = quantity + excluded.quantity, resource_name = excluded.resource_name, region = excluded.region
                    """,
                arguments: [
                    entry.resourceID.lowercasedString, entry.sku.rawValue, Int64(entry.hour.timeIntervalSince1970), entry.organizationID.lowercasedString,
                    entry.projectID.lowercasedString, entry.resourceName, entry.region, entry.quantity, entry.organizationID.lowercasedString,
                ]
            )
        }
    }

    func usageTotals(since start: Date) throws -> [UUID: UnitTotals] {
        let rows = try Row.fetchAll(
            db, sql: "SELECT organization_id, sku, SUM(quantity) AS q FROM usage_ledger WHERE hour >= ? AND sku IN (?, ?) GROUP BY organization_id, sku",
            arguments: [Int64(start.timeIntervalSince1970), UsageSKU.readUnits.rawValue, UsageSKU.writeUnits.rawValue]
        )
        var totals: [UUID: UnitTotals] = [:]
        for row in rows {
            let organization = try SQLiteCatalog.uuid(row["organization_id"])
            if row["sku"] == UsageSKU.readUnits.rawValue {
                totals[organization, default: UnitTotals()].read = row["q"]
            } else {
                totals[organization, default: UnitTotals()].write = row["q"]
            }
        }
        return totals
    }

    func usage(organization: UUID, from: Date, to: Date) throws -> [UsageEntry] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM usage_ledger WHERE organization_id = ? AND hour >= ? AND hour < ? ORDER BY hour, project_id, resource_name, resource_id, sku",
            arguments: [organization.lowercasedString, Int64(from.timeIntervalSince1970), Int64(to.timeIntervalSince1970)]
        ).compactMap { row in
            guard let sku = UsageSKU(rawValue: row["sku"]) else { return nil }  // a SKU this version does not know
            return UsageEntry(
                organizationID: try SQLiteCatalog.uuid(row["organization_id"]), projectID: try SQLiteCatalog.uuid(row["project_id"]),
                resourceID: try SQLiteCatalog.uuid(row["resource_id"]), resourceName: row["resource_name"], region: row["region"], sku: sku,
                hour: Date(timeIntervalSince1970: TimeInterval(row["hour"] as Int64)), quantity: row["quantity"]
            )
        }
    }

    func storedResources() throws -> [StoredResource] {
        func entry(_ row: Row, id: String, name: String, region: String, sku: UsageSKU) throws -> UsageEntry {
            UsageEntry(
                organizationID: try SQLiteCatalog.uuid(row["organization_id"]), projectID: try SQLiteCatalog.uuid(row["project_id"]),
                resourceID: try SQLiteCatalog.uuid(row[id]), resourceName: row[name], region: region, sku: sku, hour: Date(timeIntervalSince1970: 0), quantity: 0
            )
        }
        var resources: [StoredResource] = []
        for row in try Row.fetchAll(db, sql: "SELECT i.*, p.organization_id FROM index_definition i JOIN project p ON p.id = i.project_id") {
            let index = try IndexRow(row: row)
            resources.append(StoredResource(entry: try entry(row, id: "id", name: "name", region: index.deployment.region, sku: .storage)))
        }
        let backups = "SELECT b.id, b.project_id, b.name, b.source, b.size_bytes, b.is_collection, p.organization_id FROM backup b JOIN project p ON p.id = b.project_id"
        for row in try Row.fetchAll(db, sql: backups) {
            let source = try sealer.open(json: row["source"] as Data, as: IndexDefinition.self, .backupSource)
            let sku: UsageSKU = row["is_collection"] ? .collectionStorage : .backupStorage
            resources.append(StoredResource(entry: try entry(row, id: "id", name: "name", region: source.deployment.region, sku: sku), sizeBytes: row["size_bytes"]))
        }
        return resources
    }
}
