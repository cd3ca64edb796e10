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

extension SQLiteRows {
    func consoleSession(secretHash: String) throws -> ConsoleSession? {
        try Row.fetchOne(db, sql: "SELECT * FROM console_session WHERE secret_hash = ?", arguments: [secretHash]).map { row in
            ConsoleSession(
                secretHash: row["secret_hash"], userID: try SQLiteCatalog.uuid(row["user_id"]), passwordGeneration: row["password_generation"],
                createdAt: row["created_at"], lastSeenAt: row["last_seen_at"], expiresAt: row["expires_at"]
            )
        }
    }

    func save(_ session: ConsoleSession) throws {
        try db.execute(
            sql: """
                INSERT INTO console_session (secret_hash, user_id, password_generation, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (secret_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at
                """,
            arguments: [
                session.secretHash, session.userID.lowercasedString, session.passwordGeneration, session.createdAt, session.lastSeenAt, session.expiresAt,
            ]
        )
    }

    func deleteConsoleSession(secretHash: String) throws {
        try db.execute(sql: "DELETE FROM console_session WHERE secret_hash = ?", arguments: [secretHash])
    }

    func deleteConsoleSessions(lastSeenBefore idleCutoff: Date, orExpiringBefore now: Date) throws -> Int {
        try db.execute(sql: "DELETE FROM console_session WHERE last_seen_at < ? OR expires_at <= ?", arguments: [idleCutoff, now])
        return db.changesCount
    }
}
