import ConiferCore
import Foundation
import GRDB

// The usage ledger: read and write units per index per hour, kept after the index is deleted (for usage
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
}
