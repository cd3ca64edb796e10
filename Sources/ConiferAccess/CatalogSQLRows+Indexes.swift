import ConiferCore
import Crypto
import Foundation

// The rows of indexes, backups, collections, restore jobs, backup schedules and the usage ledger, in one
// transaction of either store: loads and stores only (the rules are `CatalogService`'s).

extension CatalogSQLRows {
    // MARK: Indexes

    func index(named name: String, project: UUID) throws -> IndexDefinition? {
        try sql.row("SELECT * FROM index_definition WHERE project_id = ? AND name = ?", project, name).map { try IndexRow($0).definition(sealer) }
    }

    func index(_ id: UUID) throws -> IndexDefinition? {
        try sql.row("SELECT * FROM index_definition WHERE id = ?", id).map { try IndexRow($0).definition(sealer) }
    }

    func allIndexes() throws -> [IndexDefinition] {
        try sql.rows("SELECT * FROM index_definition ORDER BY name").map { try IndexRow($0).definition(sealer) }
    }

    func insert(_ index: IndexDefinition) throws { try IndexRow(index, sealer).insert(sql) }
    func update(_ index: IndexDefinition) throws { try IndexRow(index, sealer).update(sql) }

    func clearRestoreMark(_ id: UUID) throws -> Bool {
        try sql.execute("UPDATE index_definition SET restore_job_id = NULL WHERE id = ?", id) == 1
    }

    func dataPlaneIndex(named name: String, project: UUID, organization: UUID) throws -> DataPlaneIndex? {
        guard let definition = try index(named: name, project: project),
              let plan: Plan = try sql.row("SELECT plan FROM organization WHERE id = ?", organization)?.raw("plan")
        else { return nil }
        let endpoints = try sql.rows(
            "SELECT id, name, vpc_endpoint_id, allowed_cidrs, created_at FROM private_endpoint WHERE project_id = ? AND region = ?", project, definition.region
        ).map { row in
            PrivateEndpoint(
                id: try row.get("id"), projectID: project, name: try row.get("name"), region: definition.region,
                vpcEndpointID: try row.get("vpc_endpoint_id"), allowedCIDRs: try blocks.parse(try row.get("allowed_cidrs")), createdAt: try row.get("created_at")
            )
        }
        let settings = try sql.row("SELECT private_endpoint_access_only, rate_limits FROM project WHERE id = ?", project)
        return DataPlaneIndex(
            definition: definition, plan: plan,
            network: PrivateNetworkPolicy(endpoints: endpoints, privateOnly: try settings?.get("private_endpoint_access_only") ?? false),
            rateLimits: try settings?.get("rate_limits")
        )
    }

    func privateEndpointRegions(project: UUID) throws -> Set<String> {
        Set(try sql.values("SELECT DISTINCT region FROM private_endpoint WHERE project_id = ?", project) as [String])
    }

    func rateLimits(project: UUID) throws -> (plan: Plan?, rateLimits: String?) {
        let row = try sql.row("SELECT o.plan, p.rate_limits FROM project p JOIN organization o ON o.id = p.organization_id WHERE p.id = ?", project)
        return ((try row?.get("plan") as String?).flatMap(Plan.init(rawValue:)), try row?.get("rate_limits"))
    }

    func setRateLimits(_ limits: String?, project: UUID) throws -> Bool {
        try sql.execute("UPDATE project SET rate_limits = ? WHERE id = ?", limits, project) == 1
    }

    func apiKey(secretHash: String) throws -> (key: APIKeyRow, organizationID: UUID)? {
        // Looked up by hash: the SQL index only ever compares hashes, never the secret itself.
        guard let key = try sql.row("SELECT * FROM api_key WHERE secret_hash = ?", secretHash).map(APIKeyRow.init),
              let organization: UUID = try sql.value("SELECT organization_id FROM project WHERE id = ?", key.projectID)
        else { return nil }
        return (key, organization)
    }

    // MARK: Backups and collections

    func insert(_ backup: BackupRecord, dataKey: SymmetricKey) throws {
        try sql.insert("backup", [
            "id": backup.id, "project_id": backup.source.projectID, "name": backup.name,
            "description": try backup.description.map { try sealer.seal(Data($0.utf8), .backupDescription) },
            "source": try sealer.seal(json: backup.source, .backupSource), "record_count": backup.recordCount, "namespace_count": backup.namespaceCount,
            "size_bytes": backup.sizeBytes, "data_key": try sealer.seal(dataKey.withUnsafeBytes { Data($0) }, .backupKey), "created_at": backup.createdAt,
            "schedule_id": backup.scheduleID, "expires_at": backup.expiresAt, "is_collection": backup.isCollection,
        ])
    }

    func backups(project: UUID, collections: Bool) throws -> [BackupRecord] {
        let order = collections ? "name" : "created_at DESC, id"
        return try sql.rows("SELECT * FROM backup WHERE project_id = ? AND is_collection = ? ORDER BY \(order)", project, collections).map(backup)
    }

    func backupCount(project: UUID, collections: Bool) throws -> Int {
        try sql.value("SELECT COUNT(*) FROM backup WHERE project_id = ? AND is_collection = ?", project, collections) ?? 0
    }

    func backup(_ id: UUID, project: UUID) throws -> BackupRecord? {
        try sql.row("SELECT * FROM backup WHERE id = ? AND project_id = ? AND NOT is_collection", id, project).map(backup)
    }

    func collection(named name: String, project: UUID) throws -> BackupRecord? {
        try sql.row("SELECT * FROM backup WHERE project_id = ? AND is_collection AND name = ?", project, name).map(backup)
    }

    func backupKey(_ id: UUID) throws -> SymmetricKey? {
        try (sql.value("SELECT data_key FROM backup WHERE id = ?", id) as Data?).map { SymmetricKey(data: try sealer.open($0, .backupKey)) }
    }

    func backupIDs() throws -> Set<UUID> {
        Set(try sql.values("SELECT id FROM backup") as [UUID])
    }

    func deleteBackup(_ id: UUID) throws {
        try sql.execute("DELETE FROM backup WHERE id = ?", id)
    }

    func backups(schedule: UUID) throws -> [BackupRecord] {
        try sql.rows("SELECT * FROM backup WHERE schedule_id = ? ORDER BY created_at DESC, id", schedule).map(backup)
    }

    func setExpiry(_ date: Date?, backup: UUID) throws {
        try sql.execute("UPDATE backup SET expires_at = ? WHERE id = ?", date, backup)
    }

    func backups(expiringBy date: Date) throws -> [ExpiredBackup] {
        try sql.rows("SELECT b.id, b.name, b.project_id, p.organization_id FROM backup b JOIN project p ON p.id = b.project_id WHERE b.expires_at <= ?", date)
            .map { row in
                ExpiredBackup(id: try row.get("id"), name: try row.get("name"), projectID: try row.get("project_id"), organizationID: try row.get("organization_id"))
            }
    }

    /// A backup's row; its description and source definition (with the index's tags) are sealed.
    private func backup(_ row: any CatalogRow) throws -> BackupRecord {
        BackupRecord(
            id: try row.get("id"), name: try row.get("name"),
            description: try (row.get("description") as Data?).map { String(decoding: try sealer.open($0, .backupDescription), as: UTF8.self) },
            source: try sealer.open(json: try row.get("source"), as: IndexDefinition.self, .backupSource),
            recordCount: try row.get("record_count"), namespaceCount: try row.get("namespace_count"), sizeBytes: try row.get("size_bytes"),
            createdAt: try row.get("created_at"), scheduleID: try row.get("schedule_id"), expiresAt: try row.get("expires_at"),
            isCollection: try row.get("is_collection")
        )
    }

    // MARK: Restore jobs

    func insert(_ job: RestoreJob) throws {
        try sql.insert("restore_job", [
            "id": job.id, "project_id": job.projectID, "backup_id": job.backupID, "target_index_id": job.targetIndexID,
            "target_index_name": job.targetIndexName, "status": job.status.rawValue, "percent_complete": job.percentComplete, "error": job.error,
            "created_at": job.createdAt, "completed_at": job.completedAt,
        ])
    }

    func update(_ job: RestoreJob) throws {
        try sql.execute(
            "UPDATE restore_job SET status = ?, percent_complete = ?, error = ?, completed_at = ? WHERE id = ?",
            job.status.rawValue, job.percentComplete, job.error, job.completedAt, job.id
        )
    }

    func restoreJob(_ id: UUID) throws -> RestoreJob? {
        try sql.row("SELECT * FROM restore_job WHERE id = ?", id).map(restoreJob)
    }

    func restoreJobs(project: UUID) throws -> [RestoreJob] {
        try sql.rows("SELECT * FROM restore_job WHERE project_id = ? ORDER BY created_at DESC, id", project).map(restoreJob)
    }

    func restoreJobs(status: [RestoreJob.Status]) throws -> [RestoreJob] {
        let marks = Array(repeating: "?", count: status.count).joined(separator: ", ")
        return try sql.rows("SELECT * FROM restore_job WHERE status IN (\(marks)) ORDER BY created_at, id", status.map(\.rawValue.sqlValue)).map(restoreJob)
    }

    private func restoreJob(_ row: any CatalogRow) throws -> RestoreJob {
        RestoreJob(
            id: try row.get("id"), projectID: try row.get("project_id"), backupID: try row.get("backup_id"), targetIndexID: try row.get("target_index_id"),
            targetIndexName: try row.get("target_index_name"), status: RestoreJob.Status(rawValue: try row.get("status")) ?? .failed,
            percentComplete: try row.get("percent_complete"), error: try row.get("error"), createdAt: try row.get("created_at"),
            completedAt: try row.get("completed_at")
        )
    }

    // MARK: Backup schedules

    /// A schedule's row with its index's name.
    private static let scheduleSelect = "SELECT s.*, i.name AS index_name FROM backup_schedule s JOIN index_definition i ON i.id = s.index_id"

    func insert(_ schedule: BackupSchedule) throws {
        try sql.insert("backup_schedule", [
            "id": schedule.id, "project_id": schedule.projectID, "index_id": schedule.indexID, "name": schedule.name,
            "frequency": schedule.frequency.rawValue, "retention_days": schedule.retentionDays, "enabled": schedule.enabled,
            "next_run": schedule.next?.at, "next_backup_id": schedule.next?.backupID, "created_at": schedule.createdAt,
        ])
    }

    func update(_ schedule: BackupSchedule) throws {
        try sql.execute(
            "UPDATE backup_schedule SET frequency = ?, retention_days = ?, enabled = ?, next_run = ?, next_backup_id = ? WHERE id = ?",
            schedule.frequency.rawValue, schedule.retentionDays, schedule.enabled, schedule.next?.at, schedule.next?.backupID, schedule.id
        )
    }

    func deleteSchedule(_ id: UUID) throws {
        try sql.execute("DELETE FROM backup_schedule WHERE id = ?", id)
    }

    func schedule(_ id: UUID) throws -> BackupSchedule? {
        try sql.row("\(Self.scheduleSelect) WHERE s.id = ?", id).map(Self.schedule)
    }

    func schedules(index: UUID) throws -> [BackupSchedule] {
        try sql.rows("\(Self.scheduleSelect) WHERE s.index_id = ? ORDER BY s.created_at, s.id", index).map(Self.schedule)
    }

    func dueSchedules(at date: Date) throws -> [BackupSchedule] {
        try sql.rows("\(Self.scheduleSelect) WHERE s.enabled AND s.next_run <= ? ORDER BY s.next_run, s.id", date).map(Self.schedule)
    }

    func advance(schedule: UUID, from slot: Date, to next: BackupSchedule.NextRun) throws -> Bool {
        try sql.execute(
            "UPDATE backup_schedule SET next_run = ?, next_backup_id = ? WHERE id = ? AND enabled AND next_run = ?", next.at, next.backupID, schedule, slot
        ) == 1
    }

    private static func schedule(_ row: any CatalogRow) throws -> BackupSchedule {
        let nextRun: Date? = try row.get("next_run")
        let nextBackup: UUID? = try row.get("next_backup_id")
        return BackupSchedule(
            id: try row.get("id"), projectID: try row.get("project_id"), indexID: try row.get("index_id"), indexName: try row.get("index_name"),
            name: try row.get("name"), frequency: BackupSchedule.Frequency(rawValue: try row.get("frequency")) ?? .daily,
            retentionDays: try row.get("retention_days"), enabled: try row.get("enabled"),
            next: nextRun.map { BackupSchedule.NextRun(at: $0, backupID: nextBackup ?? UUID()) }, createdAt: try row.get("created_at")
        )
    }

    // MARK: Usage ledger

    func addUsage(_ entries: [UsageEntry]) throws {
        for entry in entries {
            try sql.execute(
                """
                INSERT INTO usage_ledger (resource_id, sku, hour, organization_id, project_id, resource_name, region, quantity)
                SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM organization WHERE id = ?)
                ON CONFLICT (resource_id, sku, hour) DO UPDATE SET
                    quantity = usage_ledger.quantity + excluded.quantity, resource_name = excluded.resource_name, region = excluded.region
                """,
                entry.resourceID, entry.sku.rawValue, Int64(entry.hour.timeIntervalSince1970), entry.organizationID, entry.projectID, entry.resourceName,
                entry.region, entry.quantity, entry.organizationID
            )
        }
    }

    func usageTotals(since start: Date) throws -> [UUID: UnitTotals] {
        let rows = try sql.rows(
            "SELECT organization_id, sku, SUM(quantity) AS q FROM usage_ledger WHERE hour >= ? AND sku IN (?, ?) GROUP BY organization_id, sku",
            Int64(start.timeIntervalSince1970), UsageSKU.readUnits.rawValue, UsageSKU.writeUnits.rawValue
        )
        var totals: [UUID: UnitTotals] = [:]
        for row in rows {
            let organization: UUID = try row.get("organization_id")
            if try row.get("sku") as String == UsageSKU.readUnits.rawValue {
                totals[organization, default: UnitTotals()].read = try row.get("q")
            } else {
                totals[organization, default: UnitTotals()].write = try row.get("q")
            }
        }
        return totals
    }

    func usage(organization: UUID, from: Date, to: Date) throws -> [UsageEntry] {
        try sql.rows(
            "SELECT * FROM usage_ledger WHERE organization_id = ? AND hour >= ? AND hour < ? ORDER BY hour, project_id, resource_name, resource_id, sku",
            organization, Int64(from.timeIntervalSince1970), Int64(to.timeIntervalSince1970)
        ).compactMap { row in
            guard let sku = UsageSKU(rawValue: try row.get("sku")) else { return nil }  // a SKU this version does not know
            return UsageEntry(
                organizationID: try row.get("organization_id"), projectID: try row.get("project_id"), resourceID: try row.get("resource_id"),
                resourceName: try row.get("resource_name"), region: try row.get("region"), sku: sku,
                hour: Date(timeIntervalSince1970: TimeInterval(try row.get("hour") as Int64)), quantity: try row.get("quantity")
            )
        }
    }

    func storedResources() throws -> [StoredResource] {
        func entry(_ row: any CatalogRow, region: String, sku: UsageSKU) throws -> UsageEntry {
            UsageEntry(
                organizationID: try row.get("organization_id"), projectID: try row.get("project_id"), resourceID: try row.get("id"),
                resourceName: try row.get("name"), region: region, sku: sku, hour: Date(timeIntervalSince1970: 0), quantity: 0
            )
        }
        var resources: [StoredResource] = []
        for row in try sql.rows("SELECT i.*, p.organization_id FROM index_definition i JOIN project p ON p.id = i.project_id") {
            let index = try IndexRow(row)
            resources.append(StoredResource(entry: try entry(row, region: index.deployment.region, sku: .storage), home: index.home))
        }
        let backups = "SELECT b.id, b.project_id, b.name, b.source, b.size_bytes, b.is_collection, p.organization_id FROM backup b JOIN project p ON p.id = b.project_id"
        for row in try sql.rows(backups) {
            let source = try sealer.open(json: try row.get("source"), as: IndexDefinition.self, .backupSource)
            let sku: UsageSKU = try row.get("is_collection") ? .collectionStorage : .backupStorage
            resources.append(StoredResource(
                entry: try entry(row, region: source.deployment.region, sku: sku), sizeBytes: try row.get("size_bytes"), home: source.home
            ))
        }
        return resources
    }
}
