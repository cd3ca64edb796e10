import ConiferAudit
import ConiferCore
import ConiferKeys
import Crypto
import Foundation

/// The catalog a server or an operator command opens: SQLite in the data directory (the default), or PostgreSQL
/// (`--catalog`), which several servers share.
public enum CatalogDatabase: Sendable {
    case sqlite(SQLiteCatalog)
    case postgres(PostgresCatalog)

    /// Opens the PostgreSQL catalog at `location` (at most `poolSize` connections) with the keyring's master key, or,
    /// without a location, the data directory's SQLite catalog sealed with the keyring's server key.
    public static func open(_ location: PostgresLocation?, poolSize: Int, dataDirectory: URL, keyring: KeyRing) async throws -> CatalogDatabase {
        guard let location else { return .sqlite(try SQLiteCatalog(directory: dataDirectory, sealingKey: keyring.serverKey)) }
        return .postgres(try await PostgresCatalog.open(location, poolSize: poolSize, master: keyring.master))
    }

    var store: any SQLCatalog {
        switch self {
        case .sqlite(let catalog): catalog
        case .postgres(let catalog): catalog
        }
    }

    /// The catalog's rules over indexes, backups and the data plane's lookups (one per server: it holds the cache).
    public func catalogService() -> CatalogService { CatalogService(store: store) }

    /// The Admin API's rules.
    public func adminService() -> AdminService { AdminService(store: store) }

    /// The audit log.
    public var audit: any AuditSpool & AuditDirectory { store }

    /// Checks every link of the audit log from the anchor to the head; nil when the chain holds.
    public func verifyAuditChain() async throws -> AuditChainBreak? { try await store.firstChainBreak() }

    /// The OAuth tokens' signer: the catalog's own key on PostgreSQL (so every server's tokens are valid on every
    /// other), the data directory's on SQLite.
    public func tokens(dataDirectory: URL, sealingKey: SymmetricKey) async throws -> TokenService {
        switch self {
        case .sqlite: try await TokenService.open(directory: dataDirectory, sealingKey: sealingKey)
        case .postgres(let catalog): await TokenService.inMemory(key: catalog.tokenSigningKey)
        }
    }

    /// Closes the PostgreSQL catalog's idle connections (SQLite's close with the process).
    public func close() {
        if case .postgres(let catalog) = self { catalog.close() }
    }
}
