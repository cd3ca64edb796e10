import ConiferCore
import Foundation
import Testing
@testable import ConiferAccess

/// The catalogs the rule tests run on: SQLite in memory always, PostgreSQL (a database of its own) when the tests
/// have a server.
enum TestStore: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static let available: [TestStore] = PostgresTestDatabase.enabled ? [.sqlite, .postgres] : [.sqlite]

    var testDescription: String { rawValue }

    func make() async throws -> any SQLCatalog {
        switch self {
        case .sqlite: try SQLiteCatalog.inMemory()
        case .postgres: try await PostgresCatalog.open(try await PostgresTestDatabase.fresh(), poolSize: 4, master: PostgresTestDatabase.master)
        }
    }

    /// Makes every insert into `table` fail, as a full disk would, until `allowInserts`.
    func refuseInserts(into table: String, _ catalog: any SQLCatalog) async throws {
        let statements = switch self {
        case .sqlite: ["CREATE TRIGGER refuse_\(table) BEFORE INSERT ON \(table) BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
        case .postgres: [
            "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''disk full''; END'",
            "CREATE TRIGGER refuse_\(table) BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION refuse_insert()",
        ]
        }
        try await catalog.writeSQL { sql in for statement in statements { try sql.execute(statement) } }
    }

    func allowInserts(into table: String, _ catalog: any SQLCatalog) async throws {
        let statement = switch self {
        case .sqlite: "DROP TRIGGER refuse_\(table)"
        case .postgres: "DROP TRIGGER refuse_\(table) ON \(table)"
        }
        try await catalog.writeSQL { try $0.execute(statement) }
    }
}
