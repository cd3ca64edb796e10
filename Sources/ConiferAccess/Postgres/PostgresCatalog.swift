import ConiferCore
import ConiferKeys
import Crypto
import Foundation
import JWTKit
import Synchronization

/// The catalog in PostgreSQL: the same rows as the SQLite catalog (`CatalogSQLRows` over `PostgresSchema`), read in
/// REPEATABLE READ read-only transactions (one snapshot per read) and written in SERIALIZABLE ones, which run again
/// on a serialization failure (`PostgresTransactions`), so a rule that reads before it writes — a quota, the last
/// owner — holds when several servers change the catalog at once.
///
/// The audit log is the same as the SQLite catalog's (`CatalogSQLAudit`): every server appends to one chain, whose
/// head row serializes the appends.
///
/// Every server on one catalog must be given the same master key: it unwraps the catalog's own data key (a row of
/// `catalog_key`, written by the first server), which seals the sensitive columns and the OAuth tokens' signing key,
/// so a token one server issues is valid on every other.
///
/// Every change counts up one version row (`catalog_version`), which a server reads (one query) to know whether its
/// cache of keys and indexes still holds: a key deleted through one server is refused by every other on its next
/// request.
public final class PostgresCatalog: Sendable {
    let database: PostgresTransactions
    let sealer: ColumnSealer
    let parsedBlocks = ParsedBlocks()
    /// The OAuth tokens' signing key, the same on every server of the catalog.
    public let tokenSigningKey: ES256PrivateKey

    init(database: PostgresTransactions, sealer: ColumnSealer, tokenSigningKey: ES256PrivateKey) {
        self.database = database
        self.sealer = sealer
        self.tokenSigningKey = tokenSigningKey
    }

    /// Connects to the database at `location` (at most `poolSize` connections), migrates it and opens its keys with
    /// `master` (creating them in a new catalog). A master key other than the one the catalog's key is wrapped by is
    /// refused, naming both.
    public static func open(_ location: PostgresLocation, poolSize: Int, master: MasterKey) async throws -> PostgresCatalog {
        let database = try PostgresTransactions(location: location, poolSize: poolSize)
        do {
            try await PostgresSchema.migrator.migrate(database)
            let (key, signing) = try await database.transaction(.serializable) { sql in try SharedCatalogKeys.open(sql, master: master) }
            let catalog = PostgresCatalog(database: database, sealer: ColumnSealer(key: key), tokenSigningKey: signing)
            try await catalog.startAuditChain()
            return catalog
        } catch {
            database.close()
            throw error
        }
    }

    /// Re-wraps the catalog's key at `location` from master key `old` to `new` (servers running on it keep working: they
    /// hold the key itself); false when it is under `new` already.
    public static func rewrapKey(_ location: PostgresLocation, from old: MasterKey, to new: MasterKey) async throws -> Bool {
        let database = try PostgresTransactions(location: location, poolSize: 1)
        defer { database.close() }
        return try await database.transaction(.serializable) { sql in try SharedCatalogKeys.rewrap(sql, from: old, to: new) }
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

    /// A transaction that changes a row also counts up the catalog's version, so every server sees the change.
    func writeSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.transaction(.serializable) { statements in
            let result = try work(statements)
            // A transaction has an id only once it changed a row; without one, the filter is false before the row is
            // read (a one-time filter), so a transaction that changed nothing neither counts nor touches the row.
            try statements.execute("UPDATE catalog_version SET value = value + 1 WHERE pg_current_xact_id_if_assigned() IS NOT NULL")
            return result
        }
    }

    /// Without counting the version: every refused call appends an audit event, and would otherwise empty every
    /// server's cache.
    func writeAuditSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.transaction(.serializable) { statements in try work(statements) }
    }

    /// One query on its own (no transaction around it): the committed count, which every server's changes move.
    func version() async throws -> CatalogVersion {
        let value = try await database.withoutTransaction { statements in
            try statements.rows("SELECT value FROM catalog_version").first?.decode(Int64.self)
        }
        guard let value else { throw ConiferCatalogCorruption(description: "catalog_version: the row is missing") }
        return CatalogVersion(commits: Int(value))
    }

    var localVersion: CatalogVersion? { nil }
}

extension PostgresCatalog {
    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    public func verifyAuditChain() async throws -> AuditChainBreak? { try await firstChainBreak() }
}
