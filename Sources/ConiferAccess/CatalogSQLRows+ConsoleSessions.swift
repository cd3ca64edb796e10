import ConiferCore
import Foundation

extension CatalogSQLRows {
    func consoleSession(secretHash: String) throws -> ConsoleSession? {
        try sql.row("SELECT * FROM console_session WHERE secret_hash = ?", secretHash).map { row in
            ConsoleSession(
                secretHash: try row.get("secret_hash"), userID: try row.get("user_id"), passwordGeneration: try row.get("password_generation"),
                createdAt: try row.get("created_at"), lastSeenAt: try row.get("last_seen_at"), expiresAt: try row.get("expires_at")
            )
        }
    }

    func save(_ session: ConsoleSession) throws {
        try sql.execute(
            """
            INSERT INTO console_session (secret_hash, user_id, password_generation, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (secret_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at
            """,
            session.secretHash, session.userID, session.passwordGeneration, session.createdAt, session.lastSeenAt, session.expiresAt
        )
    }

    func deleteConsoleSession(secretHash: String) throws {
        try sql.execute("DELETE FROM console_session WHERE secret_hash = ?", secretHash)
    }

    func deleteConsoleSessions(lastSeenBefore idleCutoff: Date, orExpiringBefore now: Date) throws -> Int {
        try sql.execute("DELETE FROM console_session WHERE last_seen_at < ? OR expires_at <= ?", idleCutoff, now)
    }
}
