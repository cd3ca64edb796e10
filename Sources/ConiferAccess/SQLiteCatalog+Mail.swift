import ConiferCore
import Foundation
import GRDB

// The mail outbox: messages waiting to be sent, and the delivery record of those sent or given up. Recipients and
// bodies are sealed (addresses are personal data; an invite's body holds its token); a sent message loses its body.

extension SQLiteCatalog {
    static func registerMailMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v18 mail outbox, billing contacts") { db in
            try db.create(table: "mail_outbox") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).indexed().references("organization", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("message", .blob)
                t.column("recipients", .blob).notNull()
                t.column("subject", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("next_attempt_at", .integer).notNull()  // seconds since 1970
                t.column("last_error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("sent_at", .datetime)
            }
            try db.create(index: "mail_outbox_due", on: "mail_outbox", columns: ["status", "next_attempt_at"])
            try db.alter(table: "organization") { t in t.add(column: "billing_contact", .blob) }
        }
    }
}
