import ConiferAccess
import ConiferCore
import Foundation

/// The PostgreSQL server of the tests: `scripts/test` starts Debian's on a loopback port in a temporary directory
/// and names it in `CONIFER_TEST_POSTGRES_URL` (a superuser); each test makes a database of its own there. Without
/// the variable the PostgreSQL tests do not run, unless `CONIFER_REQUIRE_POSTGRES=1` (scripts/test sets it), which
/// makes a missing server a failure instead.
enum PostgresTestDatabase {
    static let url = ProcessInfo.processInfo.environment["CONIFER_TEST_POSTGRES_URL"]
    static let enabled = url != nil || ProcessInfo.processInfo.environment["CONIFER_REQUIRE_POSTGRES"] == "1"

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
