import ConiferCore
import Foundation
import GRDB

// Spend alerts: an organization's monthly thresholds and its spike alert (a row once changed or fired; until then
// the default: on, to the organization's owners). Recipients are sealed (addresses are personal data).

extension SQLiteCatalog {
    static func registerSpendAlertMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v19 spend alerts") { db in
            try db.create(table: "spend_alert") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).notNull().indexed().references("organization", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("amount_usd", .double)
                t.column("recipients", .blob).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("fired_cycle", .integer)  // the cycle's start, seconds since 1970
                t.column("fired_at", .datetime)
                t.column("created_at", .datetime).notNull()
            }
            // One spike alert per organization.
            try db.execute(sql: "CREATE UNIQUE INDEX spend_alert_one_spike ON spend_alert (organization_id) WHERE kind = 'spike'")
        }
    }
}

extension SQLiteRows {
    func spendAlerts(organization: UUID) throws -> [SpendAlert] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM spend_alert WHERE organization_id = ? ORDER BY created_at, id", arguments: [organization.lowercasedString]
        ).map(spendAlert)
    }

    func save(_ alert: SpendAlert) throws {
        try db.execute(
            sql: """
                INSERT INTO spend_alert (id, organization_id, kind, amount_usd, recipients, enabled, fired_cycle, fired_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET amount_usd = excluded.amount_usd, recipients = excluded.recipients, enabled = excluded.enabled,
                    fired_cycle = excluded.fired_cycle, fired_at = excluded.fired_at
                """,
            arguments: [
                alert.id.lowercasedString, alert.organizationID.lowercasedString, alert.kind.rawValue, alert.amountUSD,
                try sealer.seal(json: alert.recipients, .alertRecipients), alert.enabled,
                alert.firedCycle.map { Int64($0.timeIntervalSince1970) }, alert.firedAt, alert.createdAt,
            ]
        )
    }

    func deleteSpendAlert(_ id: UUID) throws {
        try db.execute(sql: "DELETE FROM spend_alert WHERE id = ?", arguments: [id.lowercasedString])
    }

    func organizations() throws -> [OrganizationRow] {
        try OrganizationRow.order(OrganizationRow.Columns.createdAt).fetchAll(db)
    }

    private func spendAlert(_ row: Row) throws -> SpendAlert {
        var alert = SpendAlert(
            id: try SQLiteCatalog.uuid(row["id"]), organizationID: try SQLiteCatalog.uuid(row["organization_id"]),
            kind: SpendAlert.Kind(rawValue: row["kind"]) ?? .spend, amountUSD: row["amount_usd"],
            recipients: try sealer.open(json: row["recipients"] as Data, as: [String].self, .alertRecipients), enabled: row["enabled"],
            createdAt: row["created_at"]
        )
        alert.firedCycle = (row["fired_cycle"] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) }
        alert.firedAt = row["fired_at"]
        return alert
    }
}
