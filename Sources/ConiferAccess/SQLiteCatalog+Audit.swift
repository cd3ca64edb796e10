import ConiferAudit
import ConiferCore
import Foundation
import GRDB

// The audit spool in the catalog's database: events (each committed with a fsync of the WAL before the call
// that caused it is answered), each organization's export position and the batches cut for export.

extension SQLiteCatalog {
    static func registerAuditMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4 audit events and exports") { db in
            try db.create(table: "audit_event") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("organization_id", .text).notNull()
                t.column("time", .text).notNull()  // RFC 3339 UTC with milliseconds: sorts as text
                t.column("action", .text).notNull()
                t.column("resource_type", .text).notNull()
                t.column("principal_id", .text).notNull()
                t.column("result", .text).notNull()
                t.column("body", .blob).notNull()  // the event's JSON, exactly as exported
            }
            try db.create(index: "audit_event_organization", on: "audit_event", columns: ["organization_id", "seq"])
            try db.create(index: "audit_event_resource", on: "audit_event", columns: ["organization_id", "resource_type", "seq"])
            try db.create(index: "audit_event_time", on: "audit_event", columns: ["time"])
            try db.create(table: "audit_export") { t in
                t.primaryKey("organization_id", .text)
                t.column("destination", .jsonText).notNull()
                t.column("state", .text).notNull()
                t.column("enabled_at", .datetime).notNull()
                t.column("batched_seq", .integer).notNull()  // events up to here are in batches
                t.column("next_batch", .integer).notNull()
                t.column("last_batch_at", .datetime)
                t.column("last_success_at", .datetime)
                t.column("last_error", .text)
                t.column("last_error_at", .datetime)
            }
            try db.create(table: "audit_batch") { t in
                t.column("organization_id", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("event_count", .integer).notNull()
                t.column("body", .blob).notNull()  // emptied once delivered
                t.column("created_at", .datetime).notNull()
                t.column("delivered_at", .datetime)
                t.primaryKey(["organization_id", "number"])
            }
        }
    }
}

extension SQLiteCatalog {
    /// The outbox: each audited call's event as staged in its change's transaction, until the call settles it.
    static func registerAuditOutboxMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v15 audit outbox") { db in
            try db.create(table: "audit_outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("body", .blob).notNull()  // the event's JSON, sealed as audit_event's
                t.column("staged_at", .datetime).notNull()
            }
        }
    }
}

extension SQLiteCatalog: AuditSpool {
    /// Seals what rows written before encryption at rest hold in the columns sealed since.
    static func registerSealingMigration(_ migrator: inout DatabaseMigrator, sealer: ColumnSealer) {
        migrator.registerMigration("v5 sealed audit columns") { db in
            for row in try Row.fetchAll(db, sql: "SELECT seq, body FROM audit_event") {
                try db.execute(
                    sql: "UPDATE audit_event SET body = ? WHERE seq = ?", arguments: [try sealer.seal(row["body"] as Data, .auditEvent), row["seq"] as Int64]
                )
            }
            for row in try Row.fetchAll(db, sql: "SELECT organization_id, number, body FROM audit_batch WHERE delivered_at IS NULL") {
                try db.execute(
                    sql: "UPDATE audit_batch SET body = ? WHERE organization_id = ? AND number = ?",
                    arguments: [try sealer.seal(row["body"] as Data, .auditBatch), row["organization_id"] as String, row["number"] as Int]
                )
            }
            for row in try Row.fetchAll(db, sql: "SELECT organization_id, destination FROM audit_export") {
                try db.execute(
                    sql: "UPDATE audit_export SET destination = ? WHERE organization_id = ?",
                    arguments: [try sealer.seal(Data((row["destination"] as String).utf8), .auditDestination), row["organization_id"] as String]
                )
            }
        }
    }

    public func append(_ event: AuditEvent) async throws {
        let body = try sealer.seal(try event.encoded(), .auditEvent)
        let sealer = sealer
        try await database.write { db in try Self.appendChained(db, event, body: body, sealer: sealer) }
    }

    public func settle(outbox id: Int64, with event: AuditEvent) async throws -> Bool {
        let body = try sealer.seal(try event.encoded(), .auditEvent)
        let sealer = sealer
        return try await database.write { db in
            try db.execute(sql: "DELETE FROM audit_outbox WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { return false }
            try Self.appendChained(db, event, body: body, sealer: sealer)
            return true
        }
    }

    public func drainOutbox(stagedBefore date: Date) async throws -> Int {
        let sealer = sealer
        return try await database.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM audit_outbox WHERE staged_at < ? ORDER BY id", arguments: [date])
            for row in rows {
                let body: Data = row["body"]
                let event = try JSONDecoder().decode(AuditEvent.self, from: try sealer.open(body, .auditEvent))
                try Self.appendChained(db, event, body: body, sealer: sealer)
                try db.execute(sql: "DELETE FROM audit_outbox WHERE id = ?", arguments: [row["id"] as Int64])
            }
            return rows.count
        }
    }

    /// One write transaction of a change. The first one of an audited call (`AuditDraft.current`) that changes a
    /// row also writes the call's audit event to the outbox, so the change commits with its event or not at all.
    func writeChange<T: Sendable>(_ change: @Sendable (Database) throws -> T) async throws -> T {
        guard let draft = AuditDraft.current, draft.outboxID == nil else { return try await database.write(change) }
        let body = try sealer.seal(try draft.event.encoded(), .auditEvent)
        let (result, staged) = try await database.write { db in
            let before = db.totalChangesCount
            let result = try change(db)
            guard db.totalChangesCount > before else { return (result, Int64?.none) }
            try db.execute(sql: "INSERT INTO audit_outbox (body, staged_at) VALUES (?, ?)", arguments: [body, Date()])
            return (result, db.lastInsertedRowID)
        }
        if let staged { draft.staged(as: staged) }
        return result
    }

    public func events(_ query: AuditQuery) async throws -> AuditPage {
        var conditions = ["organization_id = ?"]
        var arguments: StatementArguments = [query.organizationID.lowercasedString]
        func add(_ condition: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append(condition)
            arguments += [value]
        }
        add("seq < ?", query.before)
        add("action = ?", query.action)
        add("resource_type = ?", query.resourceType)
        add("principal_id = ?", query.principalID)
        add("time >= ?", query.since.map(AuditTime.string))
        add("time <= ?", query.until.map(AuditTime.string))
        arguments += [query.limit + 1]
        let sql = "SELECT seq, body FROM audit_event WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?"
        let rows = try database.read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
        let page = rows.prefix(query.limit)
        return AuditPage(
            events: try page.map { try AuditEvent.decode(sealer.open($0["body"], .auditEvent)) },
            next: rows.count > query.limit ? page.last?["seq"] : nil
        )
    }

    public func export(organization: UUID) async throws -> AuditExport? {
        try await database.read { db in try Self.exports(db, organization: organization.lowercasedString, sealer: sealer).first }
    }

    public func exports() async throws -> [AuditExport] {
        try await database.read { db in try Self.exports(db, organization: nil, sealer: sealer) }
    }

    public func enableExport(organization: UUID, destination: AuditDestination, at date: Date) async throws -> AuditExport {
        let id = organization.lowercasedString
        let json = try sealer.seal(try JSONEncoder().encode(destination), .auditDestination)
        return try await writeChange { db in
            if try Self.exports(db, organization: id, sealer: sealer).isEmpty {
                // Batch numbers go on from an earlier export's, so a re-enabled export never reuses a name.
                try db.execute(
                    sql: """
                        INSERT INTO audit_export (organization_id, destination, state, enabled_at, batched_seq, next_batch)
                        VALUES (?, ?, 'active', ?, (SELECT COALESCE(MAX(seq), 0) FROM audit_event),
                                (SELECT COALESCE(MAX(number), 0) + 1 FROM audit_batch WHERE organization_id = ?))
                        """,
                    arguments: [id, json, date, id]
                )
            } else {
                try db.execute(sql: "UPDATE audit_export SET destination = ?, state = 'active' WHERE organization_id = ?", arguments: [json, id])
            }
            return try Self.exports(db, organization: id, sealer: sealer)[0]
        }
    }

    public func setExport(organization: UUID, destination: AuditDestination, state: AuditExport.State) async throws -> AuditExport {
        let id = organization.lowercasedString
        let json = try sealer.seal(try JSONEncoder().encode(destination), .auditDestination)
        return try await writeChange { db in
            try db.execute(sql: "UPDATE audit_export SET destination = ?, state = ? WHERE organization_id = ?", arguments: [json, state.rawValue, id])
            guard let export = try Self.exports(db, organization: id, sealer: sealer).first else {
                throw ConiferError.notFound("The audit log is not enabled for this organization.")
            }
            return export
        }
    }

    public func deleteExport(organization: UUID) async throws {
        try await writeChange { db in
            try db.execute(sql: "DELETE FROM audit_export WHERE organization_id = ?", arguments: [organization.lowercasedString])
        }
    }

    public func cutBatch(organization: UUID, at date: Date, limit: Int) async throws -> AuditBatch? {
        let id = organization.lowercasedString
        return try await database.write { db -> AuditBatch? in
            guard let export = try Row.fetchOne(db, sql: "SELECT batched_seq, next_batch, state FROM audit_export WHERE organization_id = ?", arguments: [id])
            else { return nil }
            let through = export["state"] == AuditExport.State.active.rawValue ? Int64.max : try Self.lastSettingsChange(db, organization: id)?.seq ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT seq, body FROM audit_event WHERE organization_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                arguments: [id, export["batched_seq"] as Int64, through, limit]
            )
            guard let last = rows.last else { return nil }
            var body = Data("[".utf8)
            for (offset, row) in rows.enumerated() {
                if offset > 0 { body.append(UInt8(ascii: ",")) }
                body.append(try sealer.open(row["body"], .auditEvent))
            }
            body.append(UInt8(ascii: "]"))
            let number: Int = export["next_batch"]
            let batch = AuditBatch(number: number, name: AuditBatch.name(number: number, at: date), body: body, eventCount: rows.count)
            try db.execute(
                sql: "INSERT INTO audit_batch (organization_id, number, name, event_count, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, number, batch.name, rows.count, try sealer.seal(body, .auditBatch), date]
            )
            try db.execute(
                sql: "UPDATE audit_export SET batched_seq = ?, next_batch = ?, last_batch_at = ? WHERE organization_id = ?",
                arguments: [last["seq"] as Int64, number + 1, date, id]
            )
            return batch
        }
    }

    public func pendingBatches(organization: UUID) async throws -> [AuditBatch] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT number, name, body, event_count FROM audit_batch WHERE organization_id = ? AND delivered_at IS NULL ORDER BY number",
                arguments: [organization.lowercasedString]
            ).map { AuditBatch(number: $0["number"], name: $0["name"], body: try sealer.open($0["body"], .auditBatch), eventCount: $0["event_count"]) }
        }
    }

    public func markDelivered(organization: UUID, batch: Int, at date: Date) async throws {
        let id = organization.lowercasedString
        try await database.write { db in
            try db.execute(
                sql: "UPDATE audit_batch SET delivered_at = ?, body = x'' WHERE organization_id = ? AND number = ?", arguments: [date, id, batch]
            )
            try db.execute(sql: "UPDATE audit_export SET last_success_at = ? WHERE organization_id = ?", arguments: [date, id])
        }
    }

    public func recordExportFailure(organization: UUID, message: String, at date: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE audit_export SET last_error = ?, last_error_at = ? WHERE organization_id = ?",
                arguments: [message, date, organization.lowercasedString]
            )
        }
    }

    public func purgeEvents(before date: Date) async throws -> Int {
        try await database.write { db in
            let deleted = try Self.purgeChained(db, before: date, sealer: sealer)
            try db.execute(sql: "DELETE FROM audit_batch WHERE delivered_at IS NOT NULL AND created_at < ?", arguments: [date])
            return deleted
        }
    }

    /// The organization's latest successful change of its export: an audit-log settings change, or the
    /// organization's deletion (which removes the export). Its position and action.
    private static func lastSettingsChange(_ db: Database, organization: String) throws -> (seq: Int64, action: String)? {
        // Two lookups along the (organization, resource type, position) index rather than one OR that would scan.
        let latest = { (resourceType: String, deletionsOnly: Bool) throws -> (seq: Int64, action: String)? in
            try Row.fetchOne(
                db, sql: """
                    SELECT seq, action FROM audit_event WHERE organization_id = ? AND resource_type = ? AND result = 'success'
                    \(deletionsOnly ? "AND action = 'delete'" : "") ORDER BY seq DESC LIMIT 1
                    """,
                arguments: [organization, resourceType]
            ).map { ($0["seq"], $0["action"]) }
        }
        let candidates = [try latest("audit-log", false), try latest("organization", true)].compactMap { $0 }
        return candidates.max { $0.seq < $1.seq }
    }

    private static func exports(_ db: Database, organization: String?, sealer: ColumnSealer) throws -> [AuditExport] {
        let sql = """
            SELECT e.*, (SELECT COUNT(*) FROM audit_batch b WHERE b.organization_id = e.organization_id AND b.delivered_at IS NULL) AS pending
            FROM audit_export e \(organization == nil ? "" : "WHERE e.organization_id = ?")
            """
        return try Row.fetchAll(db, sql: sql, arguments: organization.map { [$0] } ?? []).map { row -> AuditExport in
            let id: String = row["organization_id"]
            let state = AuditExport.State(rawValue: row["state"]) ?? .paused
            let settings = try lastSettingsChange(db, organization: id)
            let through = state == .active ? Int64.max : settings?.seq ?? 0
            let unbatched = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM audit_event WHERE organization_id = ? AND seq > ? AND seq <= ?",
                arguments: [id, row["batched_seq"] as Int64, through]
            ) ?? 0
            return AuditExport(
                organizationID: try uuid(id),
                destination: try JSONDecoder().decode(AuditDestination.self, from: sealer.open(row["destination"], .auditDestination)),
                state: state, enabledAt: row["enabled_at"], lastBatchAt: row["last_batch_at"], lastSuccessAt: row["last_success_at"],
                lastError: row["last_error"], lastErrorAt: row["last_error_at"], pendingBatches: row["pending"], unbatchedEvents: unbatched,
                removalRecorded: settings?.action == "delete"
            )
        }
    }
}

extension SQLiteCatalog: AuditDirectory {
    public func firstOrganization() async throws -> UUID? {
        try await database.read { db in try OrganizationRow.order(OrganizationRow.Columns.createdAt).fetchOne(db)?.id }
    }

    public func auditNames(organization: UUID, actor: ActionOutcome.Actor) async throws -> (organization: String, actor: AuditEvent.Actor) {
        try await database.read { db in
            let name = try OrganizationRow.fetchOne(db, key: organization.lowercasedString)?.name ?? ""
            return (name, try Self.auditActor(db, actor))
        }
    }

    private static func auditActor(_ db: Database, _ actor: ActionOutcome.Actor) throws -> AuditEvent.Actor {
        switch actor {
        case .anonymous:
            return AuditEvent.Actor(principal_id: "", principal_name: "", principal_type: "anonymous")
        case .apiKey(let id):
            let name = try APIKeyRow.fetchOne(db, key: id.lowercasedString)?.name
            return AuditEvent.Actor(principal_id: id.lowercasedString, principal_name: name ?? id.lowercasedString, principal_type: "api_key")
        case .serviceAccount(let id):
            let name = try ServiceAccountRow.fetchOne(db, key: id.lowercasedString)?.name
            return AuditEvent.Actor(principal_id: id.lowercasedString, principal_name: name ?? id.lowercasedString, principal_type: "service_account")
        case .user(let id):
            let user = try UserRow.fetchOne(db, key: id.lowercasedString)
            return AuditEvent.Actor(
                principal_id: id.lowercasedString, principal_name: user?.email ?? id.lowercasedString, principal_type: "user",
                display_name: user?.name ?? user?.email ?? id.lowercasedString
            )
        case .system(let task):
            return AuditEvent.Actor(principal_id: "conifer", principal_name: "conifer \(task.rawValue)", principal_type: "system")
        }
    }
}
