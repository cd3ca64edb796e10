import ConiferCore
import Foundation
import GRDB

// Console sessions: one row per signed-in browser, found by the SHA-256 of its cookie's secret (the secret itself is
// never stored), removed with its user.

extension SQLiteCatalog {
    static func registerConsoleSessionMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v20 console sessions") { db in
            try db.create(table: "console_session") { t in
                t.primaryKey("secret_hash", .text)
                t.column("user_id", .text).notNull().indexed().references("user", onDelete: .cascade)
                t.column("password_generation", .integer).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("last_seen_at", .datetime).notNull()
                t.column("expires_at", .datetime).notNull()  // the absolute end
            }
        }
    }
}
