import ConiferAudit
import ConiferCore
import Foundation

// The audit log in the catalog's SQL, the same on SQLite and PostgreSQL: events on the hash chain
// (`AuditChain`), the outbox a change's transaction stages its call's event in, each organization's export
// position and the batches cut for export. Event bodies, batches and export destinations are sealed.

/// A catalog whose rows and audit log are statements of `CatalogSQL` in the store's transactions. The store
/// supplies the transactions; the rows (`CatalogSQLRows`), the audit spool and the staging of a call's event in its
/// change's transaction are the same for every store.
protocol SQLCatalog: CatalogStore, AuditSpool, AuditDirectory {
    var sealer: ColumnSealer { get }
    var parsedBlocks: ParsedBlocks { get }
    /// Runs `work` in one read-only transaction (one snapshot).
    func readSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T
    /// Runs `work` in one write transaction that commits (durably) before this returns.
    func writeSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T
    /// Runs `work`, which changes only the audit log's own tables, in one write transaction. No cache holds an audit
    /// row, so on PostgreSQL it leaves the catalog's version (what tells servers their cached keys still hold) alone.
    func writeAuditSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T
}

extension SQLCatalog {
    func read<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T {
        let (sealer, blocks) = (sealer, parsedBlocks)
        return try await readSQL { sql in try work(CatalogSQLRows(sql: sql, sealer: sealer, blocks: blocks)) }
    }

    func write<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T {
        let (sealer, blocks) = (sealer, parsedBlocks)
        return try await writeChange { sql in try work(CatalogSQLRows(sql: sql, sealer: sealer, blocks: blocks)) }
    }

    /// One write transaction of a change. The first one of an audited call (`AuditDraft.current`) that changes a
    /// row also writes the call's audit event to the outbox, so the change commits with its event or not at all.
    func writeChange<T: Sendable>(_ change: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        guard let draft = AuditDraft.current, draft.outboxID == nil else { return try await writeSQL(change) }
        let body = try sealer.seal(try draft.event.encoded(), .auditEvent)
        let (result, staged) = try await writeSQL { sql in
            let result = try change(sql)
            guard try sql.hasChanges() else { return (result, Int64?.none) }
            let id: Int64? = try sql.value("INSERT INTO audit_outbox (body, staged_at) VALUES (?, ?) RETURNING id", body, Date())
            return (result, id)
        }
        if let staged { draft.staged(as: staged) }
        return result
    }

    private func audit<T: Sendable>(_ work: @escaping @Sendable (AuditRows) throws -> T) async throws -> T {
        let sealer = sealer
        return try await readSQL { sql in try work(AuditRows(sql: sql, sealer: sealer)) }
    }

    private func auditWrite<T: Sendable>(_ work: @escaping @Sendable (AuditRows) throws -> T) async throws -> T {
        let sealer = sealer
        return try await writeAuditSQL { sql in try work(AuditRows(sql: sql, sealer: sealer)) }
    }

    // MARK: AuditSpool

    public func append(_ event: AuditEvent) async throws {
        let body = try sealer.seal(try event.encoded(), .auditEvent)
        try await auditWrite { try $0.appendChained(event, body: body) }
    }

    public func settle(outbox id: Int64, with event: AuditEvent) async throws -> Bool {
        let body = try sealer.seal(try event.encoded(), .auditEvent)
        return try await auditWrite { audit in
            guard try audit.sql.execute("DELETE FROM audit_outbox WHERE id = ?", id) == 1 else { return false }
            try audit.appendChained(event, body: body)
            return true
        }
    }

    public func drainOutbox(stagedBefore date: Date) async throws -> Int {
        try await auditWrite { audit in
            let rows = try audit.sql.rows("SELECT id, body FROM audit_outbox WHERE staged_at < ? ORDER BY id", date)
            for row in rows {
                let body: Data = try row.get("body")
                let event = try AuditEvent.decode(try audit.sealer.open(body, .auditEvent))
                try audit.appendChained(event, body: body)
                try audit.sql.execute("DELETE FROM audit_outbox WHERE id = ?", try row.get("id") as Int64)
            }
            return rows.count
        }
    }

    public func events(_ query: AuditQuery) async throws -> AuditPage {
        var conditions = ["organization_id = ?"]
        var arguments: [SQLValue] = [query.organizationID.sqlValue]
        func add(_ condition: String, _ value: (any SQLArgument)?) {
            guard let value else { return }
            conditions.append(condition)
            arguments.append(value.sqlValue)
        }
        add("seq < ?", query.before)
        add("action = ?", query.action)
        add("resource_type = ?", query.resourceType)
        add("principal_id = ?", query.principalID)
        add("time >= ?", query.since.map(AuditTime.string))
        add("time <= ?", query.until.map(AuditTime.string))
        arguments.append((query.limit + 1).sqlValue)
        let statement = "SELECT seq, body FROM audit_event WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?"
        return try await audit { [arguments] audit in
            let rows = try audit.sql.rows(statement, arguments)
            let page = rows.prefix(query.limit)
            return AuditPage(
                events: try page.map { try AuditEvent.decode(audit.sealer.open(try $0.get("body"), .auditEvent)) },
                next: rows.count > query.limit ? try page.last?.get("seq") : nil
            )
        }
    }

    public func export(organization: UUID) async throws -> AuditExport? {
        try await audit { try $0.exports(organization: organization).first }
    }

    public func exports() async throws -> [AuditExport] {
        try await audit { try $0.exports(organization: nil) }
    }

    public func enableExport(organization: UUID, destination: AuditDestination, at date: Date) async throws -> AuditExport {
        let sealed = try sealer.seal(try JSONEncoder().encode(destination), .auditDestination)
        let sealer = sealer
        return try await writeChange { sql in
            let audit = AuditRows(sql: sql, sealer: sealer)
            if try audit.exports(organization: organization).isEmpty {
                // Batch numbers go on from an earlier export's, so a re-enabled export never reuses a name.
                try sql.execute(
                    """
                    INSERT INTO audit_export (organization_id, destination, state, enabled_at, batched_seq, next_batch)
                    VALUES (?, ?, 'active', ?, (SELECT COALESCE(MAX(seq), 0) FROM audit_event),
                            (SELECT COALESCE(MAX(number), 0) + 1 FROM audit_batch WHERE organization_id = ?))
                    """,
                    organization, sealed, date, organization
                )
            } else {
                try sql.execute("UPDATE audit_export SET destination = ?, state = 'active' WHERE organization_id = ?", sealed, organization)
            }
            return try audit.exports(organization: organization)[0]
        }
    }

    public func setExport(organization: UUID, destination: AuditDestination, state: AuditExport.State) async throws -> AuditExport {
        let sealed = try sealer.seal(try JSONEncoder().encode(destination), .auditDestination)
        let sealer = sealer
        return try await writeChange { sql in
            try sql.execute("UPDATE audit_export SET destination = ?, state = ? WHERE organization_id = ?", sealed, state.rawValue, organization)
            guard let export = try AuditRows(sql: sql, sealer: sealer).exports(organization: organization).first else {
                throw ConiferError.notFound("The audit log is not enabled for this organization.")
            }
            return export
        }
    }

    public func deleteExport(organization: UUID) async throws {
        try await writeChange { sql in _ = try sql.execute("DELETE FROM audit_export WHERE organization_id = ?", organization) }
    }

    public func cutBatch(organization: UUID, at date: Date, limit: Int) async throws -> AuditBatch? {
        try await auditWrite { audit -> AuditBatch? in
            let sql = audit.sql
            guard let export = try sql.row("SELECT batched_seq, next_batch, state FROM audit_export WHERE organization_id = ?", organization)
            else { return nil }
            let state: String = try export.get("state")
            let through = state == AuditExport.State.active.rawValue ? Int64.max : try audit.lastSettingsChange(organization: organization)?.seq ?? 0
            let rows = try sql.rows(
                "SELECT seq, body FROM audit_event WHERE organization_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                organization, try export.get("batched_seq") as Int64, through, limit
            )
            guard let last = rows.last else { return nil }
            var body = Data("[".utf8)
            for (offset, row) in rows.enumerated() {
                if offset > 0 { body.append(UInt8(ascii: ",")) }
                body.append(try audit.sealer.open(try row.get("body"), .auditEvent))
            }
            body.append(UInt8(ascii: "]"))
            let number: Int = try export.get("next_batch")
            let batch = AuditBatch(number: number, name: AuditBatch.name(number: number, at: date), body: body, eventCount: rows.count)
            try sql.insert("audit_batch", [
                "organization_id": organization, "number": number, "name": batch.name, "event_count": rows.count,
                "body": try audit.sealer.seal(body, .auditBatch), "created_at": date,
            ])
            try sql.execute(
                "UPDATE audit_export SET batched_seq = ?, next_batch = ?, last_batch_at = ? WHERE organization_id = ?",
                try last.get("seq") as Int64, number + 1, date, organization
            )
            return batch
        }
    }

    public func pendingBatches(organization: UUID) async throws -> [AuditBatch] {
        try await audit { audit in
            try audit.sql.rows(
                "SELECT number, name, body, event_count FROM audit_batch WHERE organization_id = ? AND delivered_at IS NULL ORDER BY number",
                organization
            ).map {
                AuditBatch(
                    number: try $0.get("number"), name: try $0.get("name"), body: try audit.sealer.open(try $0.get("body"), .auditBatch),
                    eventCount: try $0.get("event_count")
                )
            }
        }
    }

    public func markDelivered(organization: UUID, batch: Int, at date: Date) async throws {
        try await writeAuditSQL { sql in
            // A delivered batch keeps its record, not its events.
            try sql.execute(
                "UPDATE audit_batch SET delivered_at = ?, body = ? WHERE organization_id = ? AND number = ?", date, Data(), organization, batch
            )
            try sql.execute("UPDATE audit_export SET last_success_at = ? WHERE organization_id = ?", date, organization)
        }
    }

    public func recordExportFailure(organization: UUID, message: String, at date: Date) async throws {
        try await writeAuditSQL { sql in
            _ = try sql.execute("UPDATE audit_export SET last_error = ?, last_error_at = ? WHERE organization_id = ?", message, date, organization)
        }
    }

    public func purgeEvents(before date: Date) async throws -> Int {
        try await auditWrite { audit in
            let deleted = try audit.purgeChained(before: date)
            try audit.sql.execute("DELETE FROM audit_batch WHERE delivered_at IS NOT NULL AND created_at < ?", date)
            return deleted
        }
    }

    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    func firstChainBreak() async throws -> AuditChainBreak? {
        try await audit { try $0.verifyChain() }
    }

    // MARK: AuditDirectory

    public func firstOrganization() async throws -> UUID? {
        try await read { try $0.firstOrganization()?.id }
    }

    public func auditNames(organization: UUID, actor: ActionOutcome.Actor) async throws -> (organization: String, actor: AuditEvent.Actor) {
        try await read { rows in (try rows.organization(organization)?.name ?? "", try Self.auditActor(rows, actor)) }
    }

    private static func auditActor(_ rows: any CatalogRows, _ actor: ActionOutcome.Actor) throws -> AuditEvent.Actor {
        switch actor {
        case .anonymous:
            return AuditEvent.Actor(principal_id: "", principal_name: "", principal_type: "anonymous")
        case .apiKey(let id):
            let name = try rows.apiKey(id)?.name
            return AuditEvent.Actor(principal_id: id.lowercasedString, principal_name: name ?? id.lowercasedString, principal_type: "api_key")
        case .serviceAccount(let id):
            let name = try rows.serviceAccount(id)?.name
            return AuditEvent.Actor(principal_id: id.lowercasedString, principal_name: name ?? id.lowercasedString, principal_type: "service_account")
        case .user(let id):
            let user = try rows.user(id)
            return AuditEvent.Actor(
                principal_id: id.lowercasedString, principal_name: user?.email ?? id.lowercasedString, principal_type: "user",
                display_name: user?.name ?? user?.email ?? id.lowercasedString
            )
        case .system(let task):
            return AuditEvent.Actor(principal_id: "conifer", principal_name: "conifer \(task.rawValue)", principal_type: "system")
        }
    }
}

/// The audit tables inside one transaction.
struct AuditRows {
    let sql: any CatalogSQL
    let sealer: ColumnSealer

    /// Appends an event at the head of the chain. Two servers appending at once both write the chain's row, so one
    /// of the transactions waits and runs again: the log stays one sequence.
    func appendChained(_ event: AuditEvent, body: Data) throws {
        let chain = try AuditChain.load(sql)
        let seq = chain.head.seq + 1
        let columns = [
            event.organization_id, event.event.time, event.event.action, event.event.resource_type, event.actor.principal_id,
            event.event.outcome.result,
        ]
        let link = AuditChain.link(after: chain.head.link, seq: seq, columns: columns, body: body, sealer: sealer)
        // The head moves first: a concurrent append waits on its row and then runs again (a serialization failure)
        // instead of colliding on the event's position.
        try AuditChain.store(sql, anchor: chain.anchor, head: (seq, link), sealer: sealer)
        try sql.insert("audit_event", [
            "seq": seq, "organization_id": columns[0], "time": columns[1], "action": columns[2], "resource_type": columns[3],
            "principal_id": columns[4], "result": columns[5], "body": body, "link": link,
        ])
    }

    /// Removes the events recorded before `date` and moves the chain's anchor to the last one removed.
    func purgeChained(before date: Date) throws -> Int {
        guard let last = try sql.row("SELECT seq, link FROM audit_event WHERE time < ? ORDER BY seq DESC LIMIT 1", AuditTime.string(date)) else {
            return 0
        }
        let chain = try AuditChain.load(sql)
        let lastSeq: Int64 = try last.get("seq")
        // Events are appended in time order, so what is older than the cut-off is a prefix of the chain.
        let deleted = try sql.execute("DELETE FROM audit_event WHERE seq <= ?", lastSeq)
        try AuditChain.store(sql, anchor: (lastSeq, try last.get("link") as Data? ?? Data()), head: chain.head, sealer: sealer)
        return deleted
    }

    /// Where the chain first fails to hold, reading the events in pages of a thousand; nil when it holds.
    func verifyChain() throws -> AuditChainBreak? {
        guard let chain = try? AuditChain.load(sql) else { return AuditChainBreak(seq: 0, reason: "the chain's anchor and head are missing") }
        guard chain.mac == AuditChain.mac(anchor: chain.anchor, head: chain.head, sealer: sealer) else {
            return AuditChainBreak(seq: chain.head.seq, reason: "the chain's anchor or head was altered")
        }
        var previous = chain.anchor
        var after = Int64.min
        while true {
            let rows = try sql.rows("SELECT * FROM audit_event WHERE seq > ? ORDER BY seq LIMIT 1000", after)
            for row in rows {
                let seq: Int64 = try row.get("seq")
                guard seq == previous.seq + 1 else {
                    return AuditChainBreak(seq: previous.seq + 1, reason: seq <= previous.seq ? "an event before the anchor" : "missing (deleted)")
                }
                let link = try AuditChain.link(after: previous.link, row, sealer: sealer)
                guard try row.get("link") as Data? == link else { return AuditChainBreak(seq: seq, reason: "altered (its link does not verify)") }
                previous = (seq, link)
                after = seq
            }
            if rows.count < 1000 { break }
        }
        guard previous.seq == chain.head.seq, previous.link == chain.head.link else {
            return AuditChainBreak(seq: previous.seq + 1, reason: "missing: the log ends before the head (\(chain.head.seq))")
        }
        return nil
    }

    /// The organization's latest successful change of its export: an audit-log settings change, or the
    /// organization's deletion (which removes the export). Its position and action.
    func lastSettingsChange(organization: UUID) throws -> (seq: Int64, action: String)? {
        // Two lookups along the (organization, resource type, position) index rather than one OR that would scan.
        let latest = { (resourceType: String, deletionsOnly: Bool) throws -> (seq: Int64, action: String)? in
            try sql.row(
                """
                SELECT seq, action FROM audit_event WHERE organization_id = ? AND resource_type = ? AND result = 'success'
                \(deletionsOnly ? "AND action = 'delete'" : "") ORDER BY seq DESC LIMIT 1
                """,
                organization, resourceType
            ).map { (try $0.get("seq"), try $0.get("action")) }
        }
        let candidates = [try latest("audit-log", false), try latest("organization", true)].compactMap { $0 }
        return candidates.max { $0.seq < $1.seq }
    }

    func exports(organization: UUID?) throws -> [AuditExport] {
        let statement = """
            SELECT e.*, (SELECT COUNT(*) FROM audit_batch b WHERE b.organization_id = e.organization_id AND b.delivered_at IS NULL) AS pending
            FROM audit_export e \(organization == nil ? "" : "WHERE e.organization_id = ?")
            """
        return try sql.rows(statement, organization.map { [$0.sqlValue] } ?? []).map { row -> AuditExport in
            let id: UUID = try row.get("organization_id")
            let state = AuditExport.State(rawValue: try row.get("state")) ?? .paused
            let settings = try lastSettingsChange(organization: id)
            let through = state == .active ? Int64.max : settings?.seq ?? 0
            let unbatched: Int = try sql.value(
                "SELECT COUNT(*) FROM audit_event WHERE organization_id = ? AND seq > ? AND seq <= ?", id, try row.get("batched_seq") as Int64, through
            ) ?? 0
            return AuditExport(
                organizationID: id,
                destination: try JSONDecoder().decode(AuditDestination.self, from: sealer.open(try row.get("destination"), .auditDestination)),
                state: state, enabledAt: try row.get("enabled_at"), lastBatchAt: try row.get("last_batch_at"),
                lastSuccessAt: try row.get("last_success_at"), lastError: try row.get("last_error"), lastErrorAt: try row.get("last_error_at"),
                pendingBatches: try row.get("pending"), unbatchedEvents: unbatched, removalRecorded: settings?.action == "delete"
            )
        }
    }
}
