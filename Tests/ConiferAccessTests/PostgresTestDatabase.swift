import ConiferCore
import ConiferKeys
import Foundation
import Testing
@testable import ConiferAccess

/// The PostgreSQL server of the tests: `scripts/test` starts Debian's on a loopback port in a temporary directory
/// and names it in `CONIFER_TEST_POSTGRES_URL` (a superuser); each test makes a database of its own there. Without
/// the variable the PostgreSQL tests do not run, unless `CONIFER_REQUIRE_POSTGRES=1` (scripts/test sets it), which
/// makes a missing server a failure instead.
enum PostgresTestDatabase {
    static let url = ProcessInfo.processInfo.environment["CONIFER_TEST_POSTGRES_URL"]
    static let enabled = url != nil || ProcessInfo.processInfo.environment["CONIFER_REQUIRE_POSTGRES"] == "1"
    /// The master key the tests' servers share.
    static let master = MasterKey.generate()

    /// A new, empty database on the test server.
    static func fresh() async throws -> PostgresLocation {
        guard let url else { throw ConiferError(.failedPrecondition, "CONIFER_TEST_POSTGRES_URL names no PostgreSQL server (scripts/test starts one)") }
        let server = try PostgresLocation(url: url)
        let admin = try PostgresTransactions(location: server, poolSize: 1)
        defer { admin.close() }
        let name = "conifer_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.withoutTransaction { try $0.execute("CREATE DATABASE \(name)") }
        var location = server
        location.database = name
        return location
    }
}

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
