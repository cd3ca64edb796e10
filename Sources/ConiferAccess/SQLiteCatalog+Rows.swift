import Foundation
import GRDB

/// The catalog's rows and audit log (`SQLCatalog`) in GRDB's transactions.

extension SQLiteCatalog: SQLCatalog {
    func readSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.read { db in try work(SQLiteStatements(db: db)) }
    }

    func writeSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await database.write { db in try work(SQLiteStatements(db: db)) }
    }

    /// Any commit moves a SQLite catalog's version (its files'), the audit log's too.
    func writeAuditSQL<T: Sendable>(_ work: @escaping @Sendable (any CatalogSQL) throws -> T) async throws -> T {
        try await writeSQL(work)
    }
}

extension SQLiteCatalog {
    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    public func verifyAuditChain() async throws -> AuditChainBreak? { try await firstChainBreak() }
}
