import ConiferAudit
import ConiferCore
import Foundation
import GRDB

// The audit log's tables in SQLite (their statements are `CatalogSQLAudit`'s): events (each committed with a fsync
// of the WAL before the call that caused it is answered), each organization's export position, the batches cut for
// export and the outbox.

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
}
