import Foundation
import GRDB

/// The catalog's portable statements (`CatalogSQL`) in one GRDB transaction, each prepared once per connection
/// (GRDB's statement cache).
struct SQLiteStatements: CatalogSQL {
    let db: Database
    /// The connection's count of changed rows when the transaction began.
    private let changesBefore: Int

    init(db: Database) {
        self.db = db
        changesBefore = db.totalChangesCount
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [any CatalogRow] {
        try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: StatementArguments(arguments.map(Self.value))).map(SQLiteRow.init)
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(arguments.map(Self.value)))
        return db.changesCount
    }

    func hasChanges() throws -> Bool { db.totalChangesCount > changesBefore }

    /// As GRDB stores each: dates as its text, booleans as 0 or 1.
    static func value(_ value: SQLValue) -> (any DatabaseValueConvertible)? {
        switch value {
        case .null: nil
        case .text(let text): text
        case .integer(let integer): integer
        case .real(let real): real
        case .bool(let bool): bool
        case .blob(let blob): blob
        case .date(let date): date
        }
    }
}

/// A GRDB row; GRDB converts what SQLite stored (a date's text, a boolean's integer) to the type asked for.
struct SQLiteRow: CatalogRow {
    let row: Row

    private func value<T: DatabaseValueConvertible>(_ column: CatalogColumnName) -> T? {
        switch column {
        case .name(let name): row[name]
        case .position(let position): row[position]
        }
    }

    func text(_ column: CatalogColumnName) throws -> String? { value(column) }
    func integer(_ column: CatalogColumnName) throws -> Int64? { value(column) }
    func real(_ column: CatalogColumnName) throws -> Double? { value(column) }
    func bool(_ column: CatalogColumnName) throws -> Bool? { value(column) }
    func blob(_ column: CatalogColumnName) throws -> Data? { value(column) }
    func date(_ column: CatalogColumnName) throws -> Date? { value(column) }
}
