import ConiferCore
import ConiferKeys
import Foundation

/// Seams for tests (reached with `@testable import ConiferAccess`): they create organizations, projects
/// and keys directly, without a caller, so they are no part of the catalog protocols. Either store.
extension CatalogStore {
    func createProject(name: String, organizationID: UUID) async throws -> UUID {
        let id = UUID()
        try await write { rows in
            guard try rows.organization(organizationID) != nil else {
                throw ConiferError.notFound("Organization \(organizationID.lowercasedString) not found.")
            }
            try rows.save(ProjectRow(id: id, organizationID: organizationID, name: name, createdAt: Date()))
        }
        return id
    }

    func createAPIKey(projectID: UUID, name: String, roles: [APIKeyRole]) async throws -> CreatedAPIKey {
        let (value, label) = APIKeySecret.generate()
        let id = UUID()
        try await write { rows in
            guard try rows.project(projectID) != nil else {
                throw ConiferError.notFound("Project \(projectID.lowercasedString) not found.")
            }
            try rows.save(APIKeyRow(id: id, projectID: projectID, name: name, label: label, secretHash: APIKeySecret.hash(value), roles: roles, createdAt: Date()))
        }
        return CreatedAPIKey(id: id, projectID: projectID, name: name, roles: roles, value: value)
    }

    func deleteAPIKeyRow(_ id: UUID) async throws {
        try await write { rows in
            if let key = try rows.apiKey(id) { try rows.delete(key) }
        }
    }

    func createOrganization(name: String, plan: Plan) async throws -> (organization: OrganizationInfo, owner: CreatedServiceAccount) {
        try AdminRules.validateProjectName(name)
        return try await write { rows in
            let row = OrganizationRow(id: UUID(), name: name, plan: plan, createdAt: Date())
            try rows.save(row)
            let owner = try AdminService.insertServiceAccount(rows, organizationID: row.id, name: "owner", role: .owner)
            return (try AdminService.info(row), owner)
        }
    }
}

extension SQLCatalog {
    /// Every row of every catalog table whose name does not start with one of `excludedPrefixes`, one string per
    /// row (its table's name, then its columns), sorted, read in one snapshot: what the permission matrix compares
    /// before and after a refused call.
    func everyRow(excludingTablesStartingWith excludedPrefixes: [String]) async throws -> [String] {
        let postgres = self is PostgresCatalog
        return try await readSQL { sql in
            let tables: [String] = try sql.values(
                postgres
                    ? "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                    : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).filter { table in !excludedPrefixes.contains { table.hasPrefix($0) } }
            if postgres {
                // One statement: each row as JSON.
                let union = tables.map { #"SELECT '\#($0) ' || row_to_json(t)::text FROM "\#($0)" t"# }.joined(separator: " UNION ALL ")
                return try (sql.values(union) as [String]).sorted()
            }
            return try tables.flatMap { table in
                let columns: [String] = try sql.values("SELECT name FROM pragma_table_info(?)", table)
                let quoted = columns.map { #"quote("\#($0)")"# }.joined(separator: " || ',' || ")
                return try sql.values(#"SELECT '\#(table) ' || \#(quoted) FROM "\#(table)""#) as [String]
            }.sorted()
        }
    }
}

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
