import ConiferCore
import Crypto
import Foundation
import GRDB

// Backups and restore jobs in the catalog. A backup's file is sealed under its own data key, which is kept
// here sealed under the server key (so the backup outlives its index, whose key is destroyed with it, and a
// master-key rotation re-wraps it with the server key); deleting the row destroys the key.

extension SQLiteCatalog {
    static func registerBackupMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9 backups and restore jobs") { db in
            try db.create(table: "backup") { t in
                t.primaryKey("id", .text)
                // A project with backups is not deleted (as Pinecone: the project must be empty of them).
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .restrict)
                t.column("name", .text).notNull()
                t.column("description", .text)
                t.column("source", .jsonText).notNull()  // the source index's definition at backup time
                t.column("record_count", .integer).notNull()
                t.column("namespace_count", .integer).notNull()
                t.column("size_bytes", .integer).notNull()
                t.column("data_key", .blob).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "restore_job") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                t.column("backup_id", .text).notNull()
                t.column("target_index_id", .text).notNull()
                t.column("target_index_name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("percent_complete", .double).notNull()
                t.column("error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("completed_at", .datetime)
            }
            try db.alter(table: "index_definition") { t in t.add(column: "restore_job_id", .text) }
        }
        migrator.registerMigration("v10 backup schedules") { db in
            try db.create(table: "backup_schedule") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                // A schedule belongs to one index (by id: a new index of the same name has none) and goes with it.
                t.column("index_id", .text).notNull().indexed().references("index_definition", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("frequency", .text).notNull()
                t.column("retention_days", .integer).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("next_run", .datetime)
                t.column("next_backup_id", .text)
                t.column("created_at", .datetime).notNull()
            }
            try db.alter(table: "backup") { t in
                t.add(column: "schedule_id", .text).indexed()
                t.add(column: "expires_at", .datetime).indexed()
            }
        }
        migrator.registerMigration("v11 collections") { db in
            try db.alter(table: "backup") { t in t.add(column: "is_collection", .boolean).notNull().defaults(to: false) }
        }
    }
}
