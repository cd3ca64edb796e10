import ConiferCore
import Crypto
import Foundation
import Synchronization

/// The catalog in PostgreSQL: the same rows as the SQLite catalog (`CatalogSQLRows` over `PostgresSchema`), read in
/// REPEATABLE READ read-only transactions (one snapshot per read) and written in SERIALIZABLE ones, which run again
/// on a serialization failure (`PostgresTransactions`), so a rule that reads before it writes — a quota, the last
/// owner — holds when several servers change the catalog at once.
///
/// The audit log is the same as the SQLite catalog's (`CatalogSQLAudit`): every server appends to one chain, whose
/// head row serializes the appends.
///
/// Not yet: a version other servers' commits change (notifications); until then `version()` is new on every call, so
/// nothing is cached between requests and every request reads the catalog.
public final class PostgresCatalog: Sendable {
    let database: PostgresTransactions
    let sealer: ColumnSealer
    let parsedBlocks = ParsedBlocks()
    private let versions = Atomic<Int>(0)

    init(database: PostgresTransactions, sealer: ColumnSealer) {
        self.database = database
        self.sealer = sealer
    }

    /// Connects to the database at `location` (at most `poolSize` connections) and migrates it; `sealingKey` seals the
    /// sensitive columns, as in the SQLite catalog.
    public static func open(_ location: PostgresLocation, poolSize: Int, sealingKey: SymmetricKey) async throws -> PostgresCatalog {
        let database = try PostgresTransactions(location: location, poolSize: poolSize)
        try await PostgresSchema.migrator.migrate(database)
        let catalog = PostgresCatalog(database: database, sealer: ColumnSealer(key: sealingKey))
        try await catalog.startAuditChain()
        return catalog
    }

    /// Writes the audit chain's anchor and head in a catalog that has no event yet (its MAC needs the server key,
    /// which the migration does not have).
    private func startAuditChain() async throws {
        let sealer = sealer
        try await writeSQL { sql in
            guard try sql.row("SELECT id FROM audit_chain") == nil, try sql.row("SELECT seq FROM audit_event LIMIT 1") == nil else { return }
            try AuditChain.store(sql, anchor: (0, AuditChain.genesis), head: (0, AuditChain.genesis), sealer: sealer)
        }
    }

    /// Closes the idle connections.
    public func close() {
        database.close()
    }
}

extension PostgresCatalog: SQLCatalog {
    func readSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.transaction(.repeatableRead, readOnly: true) { statements in try work(statements) }
    }

    func writeSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.transaction(.serializable) { statements in try work(statements) }
    }

    func version() -> CatalogVersion {
        CatalogVersion(commits: versions.add(1, ordering: .relaxed).newValue)
    }
}

extension PostgresCatalog {
    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    public func verifyAuditChain() async throws -> AuditChainBreak? { try await firstChainBreak() }
}
