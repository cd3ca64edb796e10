import ConiferCore
import Foundation
import PostgresNIO
import Testing
@testable import ConiferAccess

/// The catalog's PostgreSQL layer against a real PostgreSQL server: the URL, migrations that several servers run at
/// once, serializable transactions retried on conflict, and a lost connection as a 503 the next transaction recovers from.
@Suite struct PostgresLocationTests {
    @Test func aCatalogURLNamesTheServerTheDatabaseAndTheTLSMode() throws {
        let plain = try PostgresLocation(url: "postgres://conifer:s%40cret@db.internal:6543/catalog")
        #expect(plain.host == "db.internal" && plain.port == 6543 && plain.username == "conifer")
        #expect(plain.password == "s@cret" && plain.database == "catalog" && plain.tls == .disable)
        #expect(plain.description == "postgres://conifer:***@db.internal:6543/catalog", "the password never appears")

        let verified = try PostgresLocation(url: "postgresql://app@db/catalog?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(verified.port == 5432 && verified.tls == .verifyFull && verified.rootCertificates == "/etc/ca.pem")
        #expect(try PostgresLocation(url: "postgres://app@db").database == "app", "libpq's default: the user's name")
        #expect(try PostgresLocation(url: "postgres://app@db/x?sslmode=require").tls == .require)

        for bad in [
            "mysql://app@db/x", "postgres:///x", "postgres://db/x", "postgres://app@db/x?sslmode=sometimes",
            "postgres://app@db/x?ssl=true", "postgres://app@db/x?sslrootcert=",
        ] {
            #expect(throws: ConiferError.self, "\(bad)") { try PostgresLocation(url: bad) }
        }
    }
}

@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)"))
struct PostgresTransactionsTests {
    @Test func serversStartingTogetherApplyEachMigrationOnce() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let migrations = PostgresMigrator([
            .init("1 a table", ["CREATE TABLE seen (id bigint PRIMARY KEY)"]),
            .init("2 a row", ["INSERT INTO seen VALUES (1)"]),
            .init("3 another table", ["CREATE TABLE later (id bigint)", "INSERT INTO seen VALUES (2)"]),
        ])
        let servers = try (0..<4).map { _ in try PostgresTransactions(location: location, poolSize: 2) }
        defer { servers.forEach { $0.close() } }
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for server in servers { group.addTask { try await migrations.migrate(server) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(applied.sorted() == ["1 a table", "2 a row", "3 another table"], "each migration ran on exactly one server")
        let rows = try await servers[0].transaction { try $0.rows("SELECT id FROM seen ORDER BY id").map { try $0.decode(Int64.self) } }
        #expect(rows == [1, 2])
        #expect(try await migrations.migrate(servers[1]).isEmpty, "a restart finds nothing to do")

        // A server of an older Conifer, which knows fewer migrations, refuses the database instead of using it.
        let older = PostgresMigrator(Array(migrations.migrations.prefix(2)))
        await #expect(throws: ConiferError.self) { try await older.migrate(servers[2]) }
    }

    @Test func concurrentReadModifyWriteTransactionsOnTwoServersLoseNoUpdate() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let servers = try (0..<2).map { _ in try PostgresTransactions(location: location, poolSize: 2) }
        defer { servers.forEach { $0.close() } }
        try await servers[0].transaction { statements in
            try statements.execute("CREATE TABLE counter (n bigint NOT NULL)")
            try statements.execute("INSERT INTO counter VALUES (0)")
        }
        // Read, then write what was read plus one: under READ COMMITTED two of these interleaved lose an update; at
        // SERIALIZABLE the loser fails and runs again.
        let increments = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<increments {
                group.addTask {
                    try await servers[i % 2].transaction(.serializable) { statements in
                        let n = try statements.rows("SELECT n FROM counter")[0].decode(Int64.self)
                        var binds = PostgresBindings()
                        binds.append(n + 1)
                        try statements.execute("UPDATE counter SET n = $1", binds)
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await servers[1].transaction { try $0.rows("SELECT n FROM counter")[0].decode(Int64.self) }
        #expect(total == Int64(increments))
    }

    @Test func aLostConnectionIsUnavailableNothingOfItsTransactionStaysAndTheNextOneReconnects() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let server = try PostgresTransactions(location: location, poolSize: 1)
        defer { server.close() }
        try await server.transaction { try $0.execute("CREATE TABLE t (id bigint)") }
        // The server ends the connection in the middle of a transaction (as a restart or failover does).
        let error = await #expect(throws: ConiferError.self) {
            try await server.transaction { statements in
                try statements.execute("INSERT INTO t VALUES (1)")
                try statements.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        #expect(error?.code == .unavailable)
        let count = try await server.transaction { try $0.rows("SELECT count(*) FROM t")[0].decode(Int64.self) }
        #expect(count == 0, "the transaction's insert was not committed")
        // A statement's own error is the caller's, and rolls back what came before it.
        await #expect(throws: PSQLError.self) {
            try await server.transaction { statements in
                try statements.execute("INSERT INTO t VALUES (2)")
                try statements.execute("INSERT INTO missing VALUES (3)")
            }
        }
        #expect(try await server.transaction { try $0.rows("SELECT count(*) FROM t")[0].decode(Int64.self) } == 0)
    }

    @Test func anUnreachableDatabaseIsUnavailable() async throws {
        let closed = try PostgresTransactions(location: PostgresLocation(url: "postgres://conifer@127.0.0.1:1/none"), poolSize: 1)
        defer { closed.close() }
        let error = await #expect(throws: ConiferError.self) { try await closed.transaction { try $0.execute("SELECT 1") } }
        #expect(error?.code == .unavailable)
    }
}
