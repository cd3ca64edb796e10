import ConiferCore
import Foundation
import GRDB
import Testing
@testable import ConiferAccess

/// The catalog's portable statements mean the same on SQLite and on PostgreSQL: each value type stored and read
/// back alike, NULLs, changed-row counts, upserts, `RETURNING`, and a `?` inside quotes left alone.
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)"))
struct CatalogSQLTests {
    /// What the statements below answer, as plain values.
    struct Seen: Equatable {
        var rows: [[String]] = []
        var counts: [Int] = []
    }

    static let when = Date(timeIntervalSince1970: 1_800_000_000.125)

    /// The same statements on one store.
    static func exercise(_ sql: any CatalogSQL) throws -> Seen {
        var seen = Seen()
        let id = UUID(uuidString: "0C1F2E3D-4B5A-4978-8695-A4B3C2D1E0F9")!
        seen.counts.append(try sql.execute(
            "INSERT INTO thing (id, name, n, x, flag, payload, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            id, "first", 42, 2.5, true, Data([0, 1, 255]), when, String?.none
        ))
        seen.counts.append(try sql.execute(
            "INSERT INTO thing (id, name, n, x, flag, payload, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            UUID(uuidString: "11111111-2222-4333-8444-555555555555")!, "second", -7, -0.5, false, Data(), when.addingTimeInterval(60), "it's a note"
        ))
        // An upsert: the same id again changes the row in place.
        seen.counts.append(try sql.execute(
            """
            INSERT INTO thing (id, name, n, x, flag, payload, at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET n = excluded.n + thing.n, note = excluded.note
            """,
            id, "ignored", 1, 0.0, true, Data(), when, "updated"
        ))
        for row in try sql.rows("SELECT * FROM thing WHERE at >= ? ORDER BY name", when) {
            let payload: Data = try row.get("payload")
            let note: String? = try row.get("note")
            seen.rows.append([
                (try row.get("id") as UUID).lowercasedString, try row.get("name"), String(try row.get("n") as Int), String(try row.get("x") as Double),
                String(try row.get("flag") as Bool), payload.map(String.init).joined(separator: ","),
                String((try row.get("at") as Date).timeIntervalSince1970), note ?? "NULL",
            ])
        }
        // A `?` in quotes is text, not a placeholder.
        let literal: String? = try sql.value("SELECT name FROM thing WHERE note = 'what?' OR name = ?", "second")
        seen.rows.append([literal ?? "none"])
        let returned: Int64? = try sql.value("UPDATE thing SET n = n + 1 WHERE name = ? RETURNING n", "second")
        seen.rows.append([String(returned ?? 0)])
        seen.counts.append(try sql.execute("UPDATE thing SET flag = ? WHERE flag", false))
        seen.counts.append(try sql.execute("DELETE FROM thing WHERE name = ?", "nobody"))
        let count: Int? = try sql.value("SELECT COUNT(*) FROM thing WHERE NOT flag")
        seen.counts.append(count ?? -1)
        return seen
    }

    @Test func theSameStatementsAnswerTheSameOnBothStores() async throws {
        let queue = try DatabaseQueue()
        let onSQLite = try await queue.write { db in
            try db.execute(sql: """
                CREATE TABLE thing (id TEXT PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL, x DOUBLE NOT NULL, flag BOOLEAN NOT NULL,
                    payload BLOB NOT NULL, at DATETIME NOT NULL, note TEXT)
                """)
            return try Self.exercise(SQLiteStatements(db: db))
        }
        let location = try await PostgresTestDatabase.fresh()
        let database = try PostgresTransactions(location: location, poolSize: 1)
        defer { database.close() }
        let onPostgres = try await database.transaction { statements in
            try statements.execute(
                """
                CREATE TABLE thing (id text PRIMARY KEY, name text NOT NULL, n bigint NOT NULL, x double precision NOT NULL,
                    flag boolean NOT NULL, payload bytea NOT NULL, at timestamptz NOT NULL, note text)
                """
            )
            return try Self.exercise(statements)
        }
        #expect(onSQLite.rows.count == 4 && onSQLite.rows[0][1] == "first" && onSQLite.rows[0][2] == "43")
        #expect(onSQLite.rows[0][6] == "1800000000.125" && onSQLite.rows[1][7] == "it's a note")
        #expect(onSQLite.counts == [1, 1, 1, 1, 0, 2])
        #expect(onPostgres == onSQLite)
    }

    @Test func placeholdersAreNumberedOutsideQuotes() {
        #expect(PostgresStatements.numbered("SELECT a FROM t WHERE b = ? AND c = '?' AND \"d?\" = ?") == "SELECT a FROM t WHERE b = $1 AND c = '?' AND \"d?\" = $2")
    }
}
