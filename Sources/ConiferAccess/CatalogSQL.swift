import ConiferCore
import Foundation

// The catalog's statements in SQL that SQLite and PostgreSQL both read, so one row layer serves both stores:
// `?` placeholders (PostgreSQL's statements number them), `ON CONFLICT … DO UPDATE SET … = excluded.…`,
// `RETURNING`, booleans compared as booleans, no other dialect. Ids are lowercase text, JSON columns JSON text.

/// A value bound to one `?`.
enum SQLValue: Sendable, Equatable {
    case null
    case text(String)
    case integer(Int64)
    case real(Double)
    case bool(Bool)
    case blob(Data)
    case date(Date)
}

/// What can be bound to a `?`.
protocol SQLArgument {
    var sqlValue: SQLValue { get }
}

extension String: SQLArgument { var sqlValue: SQLValue { .text(self) } }
extension Int: SQLArgument { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLArgument { var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLArgument { var sqlValue: SQLValue { .real(self) } }
extension Bool: SQLArgument { var sqlValue: SQLValue { .bool(self) } }
extension Data: SQLArgument { var sqlValue: SQLValue { .blob(self) } }
extension Date: SQLArgument { var sqlValue: SQLValue { .date(self) } }
extension UUID: SQLArgument { var sqlValue: SQLValue { .text(lowercasedString) } }
extension Optional: SQLArgument where Wrapped: SQLArgument { var sqlValue: SQLValue { self?.sqlValue ?? .null } }

/// The statements of one catalog transaction.
protocol CatalogSQL {
    /// The rows `sql` returns.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [any CatalogRow]
    /// Runs `sql`; returns how many rows it inserted, changed or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Whether this transaction has inserted, changed or deleted a row so far.
    func hasChanges() throws -> Bool
}

extension CatalogSQL {
    func rows(_ sql: String, _ arguments: any SQLArgument...) throws -> [any CatalogRow] {
        try rows(sql, arguments.map(\.sqlValue))
    }

    /// The first row `sql` returns, if any.
    func row(_ sql: String, _ arguments: any SQLArgument...) throws -> (any CatalogRow)? {
        try rows(sql, arguments.map(\.sqlValue)).first
    }

    /// The first column of the first row, if there is a row.
    func value<T: CatalogColumn>(_ sql: String, _ arguments: any SQLArgument...) throws -> T? {
        try rows(sql, arguments.map(\.sqlValue)).first.map { try $0.get(0) }
    }

    /// The first column of every row.
    func values<T: CatalogColumn>(_ sql: String, _ arguments: any SQLArgument...) throws -> [T] {
        try rows(sql, arguments.map(\.sqlValue)).map { try $0.get(0) }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: any SQLArgument...) throws -> Int {
        try execute(sql, arguments.map(\.sqlValue))
    }
}

/// A row of a result, its columns read by name or position as the types the catalog stores.
protocol CatalogRow {
    func text(_ column: CatalogColumnName) throws -> String?
    func integer(_ column: CatalogColumnName) throws -> Int64?
    func real(_ column: CatalogColumnName) throws -> Double?
    func bool(_ column: CatalogColumnName) throws -> Bool?
    func blob(_ column: CatalogColumnName) throws -> Data?
    func date(_ column: CatalogColumnName) throws -> Date?
}

/// A column by name or by position (0 is the first).
enum CatalogColumnName: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case name(String)
    case position(Int)

    init(stringLiteral value: String) { self = .name(value) }
    init(integerLiteral value: Int) { self = .position(value) }

    var description: String {
        switch self {
        case .name(let name): name
        case .position(let position): "#\(position)"
        }
    }
}

extension CatalogRow {
    /// The column as `T`; a NULL where `T` is not optional is a corrupt catalog.
    func get<T: CatalogColumn>(_ column: CatalogColumnName) throws -> T {
        try T.read(self, column)
    }
}

/// A type a column can be read as.
protocol CatalogColumn {
    /// The value, or nil for NULL.
    static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Self?
}

extension CatalogColumn {
    static func read(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Self {
        guard let value = try readIfPresent(row, column) else {
            throw ConiferError(.internalError, "The catalog holds NULL in column \(column), which must have a value.")
        }
        return value
    }
}

extension String: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> String? { try row.text(column) } }
extension Int64: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Int64? { try row.integer(column) } }
extension Double: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Double? { try row.real(column) } }
extension Bool: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Bool? { try row.bool(column) } }
extension Data: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Data? { try row.blob(column) } }
extension Date: CatalogColumn { static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Date? { try row.date(column) } }

extension Int: CatalogColumn {
    static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Int? { try row.integer(column).map(Int.init) }
}

extension UUID: CatalogColumn {
    static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> UUID? {
        try row.text(column).map { text in
            guard let id = UUID(uuidString: text) else { throw ConiferError(.internalError, "Corrupt id in catalog") }
            return id
        }
    }
}

extension Optional: CatalogColumn where Wrapped: CatalogColumn {
    static func readIfPresent(_ row: any CatalogRow, _ column: CatalogColumnName) throws -> Wrapped?? {
        .some(try Wrapped.readIfPresent(row, column))
    }
}
