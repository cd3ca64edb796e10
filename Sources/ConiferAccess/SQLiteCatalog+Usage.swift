import ConiferCore
import Foundation
import GRDB

// The usage ledger: what each resource used of each SKU per hour, kept after the resource is deleted (for usage
// reports) and removed with its organization.

extension SQLiteCatalog {
    static func registerUsageMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7 usage ledger") { db in
            try db.create(table: "usage_hour") { t in
                t.column("index_id", .text).notNull()
                t.column("hour", .integer).notNull()  // the hour's start, in seconds since 1970 (UTC)
                t.column("organization_id", .text).notNull().references("organization", onDelete: .cascade)
                t.column("project_id", .text).notNull()
                t.column("index_name", .text).notNull()
                t.column("read_units", .double).notNull()
                t.column("write_units", .double).notNull()
                t.primaryKey(["index_id", "hour"])
            }
            try db.create(index: "usage_hour_organization", on: "usage_hour", columns: ["organization_id", "hour"])
        }
    }

    /// The ledger by SKU (read and write units, storage, backups, restores, collections), with each resource's
    /// region; the read and write units of `usage_hour` move into it, with their index's region when the index
    /// still exists.
    static func registerUsageBySKUMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v17 usage ledger by SKU") { db in
            try db.create(table: "usage_ledger") { t in
                t.column("resource_id", .text).notNull()
                t.column("sku", .text).notNull()
                t.column("hour", .integer).notNull()  // the hour's start, in seconds since 1970 (UTC)
                t.column("organization_id", .text).notNull().references("organization", onDelete: .cascade)
                t.column("project_id", .text).notNull()
                t.column("resource_name", .text).notNull()
                t.column("region", .text).notNull()
                t.column("quantity", .double).notNull()
                t.primaryKey(["resource_id", "sku", "hour"])
            }
            try db.create(index: "usage_ledger_organization", on: "usage_ledger", columns: ["organization_id", "hour"])
            for (column, sku) in [("read_units", UsageSKU.readUnits), ("write_units", .writeUnits)] {
                try db.execute(
                    sql: """
                        INSERT INTO usage_ledger (resource_id, sku, hour, organization_id, project_id, resource_name, region, quantity)
                        SELECT u.index_id, ?, u.hour, u.organization_id, u.project_id, u.index_name,
                            COALESCE(json_extract(i.deployment, '$.serverless.region'), json_extract(i.deployment, '$.pod.environment'),
                                json_extract(i.deployment, '$.byoc.environment'), ''), u.\(column)
                        FROM usage_hour u LEFT JOIN index_definition i ON i.id = u.index_id WHERE u.\(column) > 0
                        """,
                    arguments: [sku.rawValue]
                )
            }
            try db.drop(table: "usage_hour")
            try db.alter(table: "project") { t in t.add(column: "tags", .blob) }
        }
    }
}
