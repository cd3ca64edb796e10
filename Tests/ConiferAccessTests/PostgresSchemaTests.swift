import ConiferCore
import Foundation
import GRDB
import PostgresNIO
import Testing
@testable import ConiferAccess

/// The PostgreSQL catalog's tables are the SQLite catalog's: the same tables and columns, the same NOT NULLs,
/// primary keys, unique keys and foreign keys with their ON DELETE, so one row layer can serve both and a rule that
/// leans on a constraint (a unique name, a cascade) holds on either. A migration added to one and not the other fails
/// here. (Column types differ by design: sealed columns are `bytea`, dates `timestamptz`.)
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)"))
struct PostgresSchemaTests {
    /// A table's shape: columns with NOT NULL, the primary key, unique column sets, foreign keys.
    struct Shape: Equatable, CustomStringConvertible {
        var columns: [String: Bool] = [:]
        var primaryKey: [String] = []
        var unique: Set<[String]> = []
        var foreignKeys: Set<String> = []

        var description: String { "columns \(columns.sorted { $0.key < $1.key }), pk \(primaryKey), unique \(unique.sorted { "\($0)" < "\($1)" }), fk \(foreignKeys.sorted())" }
    }

    @Test func thePostgreSQLCatalogHasTheSQLiteCatalogsTablesColumnsAndKeys() async throws {
        let sqlite = try await Self.sqliteShapes()
        let location = try await PostgresTestDatabase.fresh()
        let database = try PostgresTransactions(location: location, poolSize: 1)
        defer { database.close() }
        try await PostgresSchema.migrator.migrate(database)
        var postgres = try await Self.postgresShapes(database)
        #expect(postgres.removeValue(forKey: "catalog_key") != nil, "the shared catalog's key (a data directory's is in its keyring)")
        #expect(postgres.removeValue(forKey: "catalog_version") != nil, "the shared catalog's version (a data directory's is its files')")
        #expect(Set(postgres.keys) == Set(sqlite.keys))
        for table in sqlite.keys.sorted() {
            #expect(postgres[table] == sqlite[table], "\(table)")
        }
    }

    static func sqliteShapes() async throws -> [String: Shape] {
        let catalog = try SQLiteCatalog.inMemory()
        return try await catalog.database.read { db in
            var shapes: [String: Shape] = [:]
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'"
            )
            for table in tables {
                var shape = Shape()
                var key: [(Int, String)] = []
                for column in try Row.fetchAll(db, sql: "PRAGMA table_info(\"\(table)\")") {
                    let name: String = column["name"]
                    let pk: Int = column["pk"]
                    shape.columns[name] = (column["notnull"] as Int) == 1 || pk > 0
                    if pk > 0 { key.append((pk, name)) }
                }
                shape.primaryKey = key.sorted { $0.0 < $1.0 }.map(\.1)
                for index in try Row.fetchAll(db, sql: "PRAGMA index_list(\"\(table)\")") where (index["unique"] as Int) == 1 && (index["origin"] as String) != "pk" {
                    let columns = try Row.fetchAll(db, sql: "PRAGMA index_info(\"\(index["name"] as String)\")").sorted { ($0["seqno"] as Int) < ($1["seqno"] as Int) }
                    shape.unique.insert(columns.map { $0["name"] as String })
                }
                for key in try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\"\(table)\")") {
                    shape.foreignKeys.insert("\(key["from"] as String) -> \(key["table"] as String).\(key["to"] as String) on delete \((key["on_delete"] as String).lowercased())")
                }
                shapes[table] = shape
            }
            return shapes
        }
    }

    static func postgresShapes(_ database: PostgresTransactions) async throws -> [String: Shape] {
        try await database.transaction { statements in
            var shapes: [String: Shape] = [:]
            for row in try statements.rows(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'conifer_migration'"
            ) {
                let (table, column, nullable) = try row.decode((String, String, String).self)
                shapes[table, default: Shape()].columns[column] = nullable == "NO"
            }
            // Keys: primary (p), unique constraints (u) and unique indexes that are not constraints, foreign (f).
            let keys = try statements.rows(
                """
                SELECT c.relname, i.indisprimary, ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace
                WHERE s.nspname = 'public' AND i.indisunique AND c.relname <> 'conifer_migration'
                """
            )
            for row in keys {
                let (table, primary, columns) = try row.decode((String, Bool, [String]).self)
                if primary { shapes[table, default: Shape()].primaryKey = columns } else { shapes[table, default: Shape()].unique.insert(columns) }
            }
            let actions = ["a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"]
            for row in try statements.rows(
                """
                SELECT c.relname, a.attname::text, r.relname, ra.attname::text, k.confdeltype::text
                FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
                JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
                WHERE k.contype = 'f'
                """
            ) {
                let (table, column, referenced, referencedColumn, action) = try row.decode((String, String, String, String, String).self)
                shapes[table, default: Shape()].foreignKeys.insert("\(column) -> \(referenced).\(referencedColumn) on delete \(actions[action] ?? action)")
            }
            return shapes
        }
    }
}
