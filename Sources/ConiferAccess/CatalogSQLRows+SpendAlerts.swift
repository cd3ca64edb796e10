import ConiferCore
import Foundation

extension CatalogSQLRows {
    func spendAlerts(organization: UUID) throws -> [SpendAlert] {
        try sql.rows("SELECT * FROM spend_alert WHERE organization_id = ? ORDER BY created_at, id", organization).map(spendAlert)
    }

    func save(_ alert: SpendAlert) throws {
        try sql.execute(
            """
            INSERT INTO spend_alert (id, organization_id, kind, amount_usd, recipients, enabled, fired_cycle, fired_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET amount_usd = excluded.amount_usd, recipients = excluded.recipients, enabled = excluded.enabled,
                fired_cycle = excluded.fired_cycle, fired_at = excluded.fired_at
            """,
            alert.id, alert.organizationID, alert.kind.rawValue, alert.amountUSD, try sealer.seal(json: alert.recipients, .alertRecipients), alert.enabled,
            alert.firedCycle.map { Int64($0.timeIntervalSince1970) }, alert.firedAt, alert.createdAt
        )
    }

    func deleteSpendAlert(_ id: UUID) throws {
        try sql.execute("DELETE FROM spend_alert WHERE id = ?", id)
    }

    func organizations() throws -> [OrganizationRow] {
        try sql.rows("SELECT * FROM organization ORDER BY created_at").map(OrganizationRow.init)
    }

    private func spendAlert(_ row: any CatalogRow) throws -> SpendAlert {
        var alert = SpendAlert(
            id: try row.get("id"), organizationID: try row.get("organization_id"), kind: SpendAlert.Kind(rawValue: try row.get("kind")) ?? .spend,
            amountUSD: try row.get("amount_usd"), recipients: try sealer.open(json: try row.get("recipients"), as: [String].self, .alertRecipients),
            enabled: try row.get("enabled"), createdAt: try row.get("created_at")
        )
        alert.firedCycle = (try row.get("fired_cycle") as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) }
        alert.firedAt = try row.get("fired_at")
        return alert
    }
}
