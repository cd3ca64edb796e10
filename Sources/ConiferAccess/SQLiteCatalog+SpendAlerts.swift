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
