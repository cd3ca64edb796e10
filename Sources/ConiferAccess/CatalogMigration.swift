import ConiferCore
import Foundation

/// `conifer catalog migrate`: copies a data directory's SQLite catalog into an empty PostgreSQL catalog, every row of
/// every table, in one PostgreSQL transaction (all of it or nothing).
///
/// The tables and their columns are PostgreSQL's (`PostgresSchema`, the same as SQLite's: `PostgresSchemaTests`),
/// each value read from SQLite as the PostgreSQL column's type, parents before children. What the data directory's
/// key sealed is opened and sealed again with the shared catalog's key; the audit log is verified under the old key
/// first (a broken chain is not carried over as a sound one) and chained again under the new key, its positions,
/// times and contents unchanged. The indexes get `home`, the origin of the server that will serve the data
/// directory's index files. Every table is counted on both sides before the transaction commits.
///
/// Not carried over: the OAuth tokens issued before (a shared catalog signs with its own key; clients ask again).
public enum CatalogMigration {
    /// A copied table and its rows.
    public struct Table: Sendable, Equatable {
        public var name: String
        public var rows: Int
    }

    /// The catalog's own bookkeeping in PostgreSQL, written by the target itself, never copied.
    static let bookkeeping: Set<String> = ["conifer_migration", "catalog_key", "catalog_version", "audit_chain"]
    /// SQLite's and GRDB's own tables.
    static let sqliteBookkeeping: Set<String> = ["grdb_migrations", "sqlite_sequence"]

    /// The sealed columns by table and column: every `ColumnSealer.Column`, and the audit outbox's staged events.
    static let sealed: [String: ColumnSealer.Column] = {
        var columns = Dictionary(uniqueKeysWithValues: ColumnSealer.Column.allCases.map { ($0.rawValue, $0) })
        columns["audit_outbox.body"] = .auditEvent
        return columns
    }()

    /// Copies `source` into `target`, whose catalog must hold no organization, user or other row yet; returns the
    /// tables copied with their row counts. Run with no server on either.
    public static func copy(from source: SQLiteCatalog, to target: PostgresCatalog, home: String) async throws -> [Table] {
        if let broken = try await source.firstChainBreak() {
            throw ConiferError(.failedPrecondition, "The source catalog's audit log does not verify (\(broken)); nothing was copied.")
        }
        let schema = try await target.readSQL { sql in try Schema.read(sql) }
        let (oldSealer, newSealer) = (source.sealer, target.sealer)
        let data = try await source.readSQL { sql in try Snapshot.read(sql, schema: schema, opening: oldSealer, sealing: newSealer, home: home) }
        return try await target.writeSQL { sql in try data.write(sql, schema: schema, sealer: newSealer) }
    }

    /// The target's tables in an order that puts every table after the tables it refers to.
    struct Schema: Sendable {
        struct Column: Sendable {
            var name: String
            var type: String
            var identity: Bool
        }

        var tables: [(name: String, columns: [Column])]

        static func read(_ sql: any CatalogSQL) throws -> Schema {
            var columns: [String: [Column]] = [:]
            for row in try sql.rows(
                """
                SELECT table_name::text AS t, column_name::text AS c, data_type::text AS type, is_identity::text AS identity
                FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
                """
            ) {
                let table: String = try row.get("t")
                guard !bookkeeping.contains(table) else { continue }
                columns[table, default: []].append(Column(name: try row.get("c"), type: try row.get("type"), identity: try row.get("identity") == "YES"))
            }
            var parents: [String: Set<String>] = [:]
            for row in try sql.rows(
                """
                SELECT child.relname::text AS child, parent.relname::text AS parent FROM pg_constraint k
                JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
                WHERE k.contype = 'f' AND child.relnamespace = current_schema()::regnamespace
                """
            ) {
                let (child, parent): (String, String) = (try row.get("child"), try row.get("parent"))
                if child != parent { parents[child, default: []].insert(parent) }
            }
            var ordered: [String] = []
            var placed = Set<String>()
            func place(_ table: String) {
                guard placed.insert(table).inserted else { return }
                for parent in (parents[table] ?? []).sorted() where columns[parent] != nil { place(parent) }
                ordered.append(table)
            }
            for table in columns.keys.sorted() { place(table) }
            return Schema(tables: ordered.map { ($0, columns[$0]!) })
        }
    }

    /// The source's rows as the target will hold them.
    struct Snapshot: Sendable {
        var rows: [String: [[SQLValue]]] = [:]
        /// The audit chain's anchor position and the chain's new head.
        var anchor: Int64 = 0
        var head: (seq: Int64, link: Data) = (0, AuditChain.genesis)

        static func read(_ sql: any CatalogSQL, schema: Schema, opening old: ColumnSealer, sealing new: ColumnSealer, home: String) throws -> Snapshot {
            let present = Set(try sql.values("SELECT name FROM sqlite_master WHERE type = 'table'") as [String])
            let unknown = present.subtracting(schema.tables.map(\.name)).subtracting(bookkeeping).subtracting(sqliteBookkeeping)
            guard unknown.isEmpty else {
                throw ConiferError(.failedPrecondition, "The source catalog has tables the PostgreSQL catalog lacks (\(unknown.sorted().joined(separator: ", "))): upgrade conifer first.")
            }
            var snapshot = Snapshot()
            snapshot.anchor = try AuditChain.load(sql).anchor.seq
            snapshot.head = (snapshot.anchor, AuditChain.genesis)
            for (table, columns) in schema.tables {
                let names = columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
                let order = table == "audit_event" ? " ORDER BY seq" : ""
                var copied: [[SQLValue]] = []
                for row in try sql.rows("SELECT \(names) FROM \"\(table)\"\(order)") {
                    var values: [SQLValue] = []
                    for (position, column) in columns.enumerated() {
                        var value = try Self.value(row, position, as: column.type, in: "\(table).\(column.name)")
                        if let sealedColumn = sealed["\(table).\(column.name)"], case .blob(let sealedValue) = value {
                            value = .blob(try new.seal(try old.open(sealedValue, sealedColumn), sealedColumn))
                        }
                        if table == "index_definition", column.name == "home" { value = .text(home) }
                        values.append(value)
                    }
                    if table == "audit_event" { values = try snapshot.chain(values, columns: columns.map(\.name), sealer: new) }
                    copied.append(values)
                }
                snapshot.rows[table] = copied
            }
            return snapshot
        }

        /// An audit event with its link set after the chain so far, under the new key.
        private mutating func chain(_ values: [SQLValue], columns: [String], sealer: ColumnSealer) throws -> [SQLValue] {
            func column(_ name: String) throws -> SQLValue {
                guard let position = columns.firstIndex(of: name) else { throw ConiferError(.internalError, "audit_event has no column \(name)") }
                return values[position]
            }
            guard case .integer(let seq) = try column("seq"), case .blob(let body) = try column("body") else {
                throw ConiferError(.internalError, "An audit event without a position or body.")
            }
            let texts = try AuditChain.columns.map { name -> String in
                if case .text(let text) = try column(name) { return text }
                return ""
            }
            let link = AuditChain.link(after: head.link, seq: seq, columns: texts, body: body, sealer: sealer)
            head = (seq, link)
            var linked = values
            linked[columns.firstIndex(of: "link")!] = .blob(link)
            return linked
        }

        /// Column `position` of `row` read as PostgreSQL's `type`.
        private static func value(_ row: any CatalogRow, _ position: Int, as type: String, in column: String) throws -> SQLValue {
            let at = CatalogColumnName.position(position)
            switch type {
            case "text": return try row.text(at).map(SQLValue.text) ?? .null
            case "bigint", "integer": return try row.integer(at).map(SQLValue.integer) ?? .null
            case "double precision": return try row.real(at).map(SQLValue.real) ?? .null
            case "boolean": return try row.bool(at).map(SQLValue.bool) ?? .null
            case "bytea": return try row.blob(at).map(SQLValue.blob) ?? .null
            case "timestamp with time zone": return try row.date(at).map(SQLValue.date) ?? .null
            default: throw ConiferError(.internalError, "Column \(column) has type \(type), which the migration does not copy.")
            }
        }

        /// Writes the rows into an empty catalog, sets its identity sequences and audit chain, and counts every table.
        func write(_ sql: any CatalogSQL, schema: Schema, sealer: ColumnSealer) throws -> [Table] {
            for (table, _) in schema.tables where try sql.row("SELECT 1 FROM \"\(table)\" LIMIT 1") != nil {
                throw ConiferError(.failedPrecondition, "The PostgreSQL catalog is not empty (table \(table) has rows); migrate into a new database.")
            }
            var tables: [Table] = []
            for (table, columns) in schema.tables {
                let rows = self.rows[table] ?? []
                let names = columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
                let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
                // Many rows per statement (PostgreSQL takes at most 65,535 parameters in one).
                let perStatement = max(1, min(500, 60_000 / max(columns.count, 1)))
                for start in stride(from: 0, to: rows.count, by: perStatement) {
                    let batch = rows[start..<min(start + perStatement, rows.count)]
                    let values = Array(repeating: placeholders, count: batch.count).joined(separator: ", ")
                    try sql.execute("INSERT INTO \"\(table)\" (\(names)) VALUES \(values)", batch.flatMap { $0 })
                }
                for column in columns where column.identity {
                    try sql.execute(
                        "SELECT setval(pg_get_serial_sequence(?, ?), (SELECT COALESCE(max(\"\(column.name)\"), 0) + 1 FROM \"\(table)\"), false)",
                        "\"\(table)\"", column.name
                    )
                }
                let count: Int = try sql.value("SELECT count(*) FROM \"\(table)\"") ?? 0
                guard count == rows.count else {
                    throw ConiferError(.internalError, "Table \(table): \(rows.count) rows read, \(count) in PostgreSQL; nothing was copied.")
                }
                tables.append(Table(name: table, rows: count))
            }
            try AuditChain.store(sql, anchor: (anchor, AuditChain.genesis), head: head, sealer: sealer)
            return tables
        }
    }
}
