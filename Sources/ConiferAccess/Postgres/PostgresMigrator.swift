import ConiferCore
import Foundation
import PostgresNIO

/// Named, versioned schema changes of a PostgreSQL database, applied in order and recorded in
/// `conifer_migration`; never edited once shipped (add new ones at the end).
///
/// Every server runs them at start, in one transaction under a transaction-scoped advisory lock: servers that
/// start together take turns, and the later ones find everything applied, so each change runs once. A database
/// that has a migration this server does not know was migrated by a newer Conifer, and is refused rather than
/// used with a schema the code does not expect.
public struct PostgresMigrator: Sendable {
    public struct Migration: Sendable {
        public let name: String
        public let statements: [String]

        public init(_ name: String, _ statements: [String]) {
            self.name = name
            self.statements = statements
        }
    }

    /// The advisory lock's key: any 64-bit number other programs on the database are unlikely to use ("conifer" in
    /// ASCII).
    static let lockKey: Int64 = 0x63_6F_6E_69_66_65_72

    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        precondition(Set(migrations.map(\.name)).count == migrations.count, "migration names must be unique")
        self.migrations = migrations
    }

    /// Applies the migrations `database` lacks; returns the names applied now (none when another server already had).
    @discardableResult
    public func migrate(_ database: PostgresTransactions) async throws -> [String] {
        let migrations = migrations
        return try await database.transaction(.readCommitted) { statements in
            var binds = PostgresBindings()
            binds.append(Self.lockKey)
            try statements.execute("SELECT pg_advisory_xact_lock($1)", binds)
            try statements.execute(
                "CREATE TABLE IF NOT EXISTS conifer_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            let applied = try Set(statements.rows("SELECT name FROM conifer_migration").map { try $0.decode(String.self) })
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw ConiferError(
                    .internalError,
                    "The catalog database was migrated by a newer Conifer (migration \"\(unknown)\" is unknown to this one); run that version."
                )
            }
            var now: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try statements.execute(statement) }
                var name = PostgresBindings()
                name.append(migration.name)
                try statements.execute("INSERT INTO conifer_migration (name) VALUES ($1)", name)
                now.append(migration.name)
            }
            return now
        }
    }
}
