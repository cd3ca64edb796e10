import Foundation
import PostgresNIO

/// The catalog's portable statements (`CatalogSQL`) on a PostgreSQL transaction: `?` becomes `$1`, `$2`, … (the
/// catalog's SQL has no `?` inside a quoted literal).
extension PostgresStatements: CatalogSQL {
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [any CatalogRow] {
        try rows(Self.numbered(sql), try Self.bindings(arguments)).map { PostgresCatalogRow(row: $0.makeRandomAccess()) }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try execute(Self.numbered(sql), try Self.bindings(arguments))
    }

    /// A transaction is given an id at its first change of a row, not before.
    func hasChanges() throws -> Bool {
        try rows("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").first?.decode(Bool.self) ?? false
    }

    /// `sql` with its `?` placeholders numbered, outside quoted text and identifiers.
    static func numbered(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 8)
        var count = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "?" {
                count += 1
                result += "$\(count)"
                continue
            }
            result.append(character)
        }
        return result
    }

    static func bindings(_ arguments: [SQLValue]) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .text(let text): bindings.append(text)
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .bool(let bool): bindings.append(bool)
            case .blob(let blob): try bindings.append(blob)
            case .date(let date): bindings.append(date)
            }
        }
        return bindings
    }
}

/// A PostgreSQL row read as the catalog's types.
struct PostgresCatalogRow: CatalogRow {
    let row: PostgresRandomAccessRow

    private func cell(_ column: CatalogColumnName) throws -> PostgresCell {
        switch column {
        case .name(let name): row[name]
        case .position(let position): row[position]
        }
    }

    func text(_ column: CatalogColumnName) throws -> String? { try cell(column).decode(String?.self) }
    func integer(_ column: CatalogColumnName) throws -> Int64? { try cell(column).decode(Int64?.self) }
    func real(_ column: CatalogColumnName) throws -> Double? { try cell(column).decode(Double?.self) }
    func bool(_ column: CatalogColumnName) throws -> Bool? { try cell(column).decode(Bool?.self) }
    func blob(_ column: CatalogColumnName) throws -> Data? { try cell(column).decode(Data?.self) }
    func date(_ column: CatalogColumnName) throws -> Date? { try cell(column).decode(Date?.self) }
}
