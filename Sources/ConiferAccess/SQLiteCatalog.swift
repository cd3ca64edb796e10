import ConiferCore
import ConiferKeys
import Crypto
import Foundation
import GRDB
import Synchronization

/// The catalog in SQLite through GRDB: a `DatabasePool` on a file in the data directory, or an in-memory
/// queue in tests, with the same migrations.
///
/// Names, emails and settings without secrets are stored as they are; columns that hold customer data or
/// secrets (audit event bodies and batches, audit export destinations) are sealed under the server's data
/// key (`ColumnSealer`). Secrets of principals are stored only as hashes. Deleted rows are overwritten
/// (`secure_delete`), not left in free pages.
public final class SQLiteCatalog: Sendable {
    let database: any DatabaseWriter
    let sealer: ColumnSealer
    /// Private endpoints' address blocks as parsed, by their stored text: every data-plane request reads its
    /// project's endpoints, and parsing up to 500 blocks each time would cost more than the request.
    let parsedBlocks = ParsedBlocks()

    /// Opens (creating if needed) `catalog.sqlite` in `directory` and migrates it; `sealingKey` seals the
    /// sensitive columns.
    public convenience init(directory: URL, sealingKey: SymmetricKey) throws {
        let path = directory.appendingPathComponent("catalog.sqlite").path
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA secure_delete = ON") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // WAL with FULL sync: each commit fsyncs the WAL, so an acknowledged catalog change (a new index, a
        // deleted key) survives power loss, not only a crash. Set on the writer after the pool is open:
        // opening a pool sets NORMAL (GRDB's `setUpWALMode`), overriding anything `prepareDatabase` did.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        try self.init(database: pool, sealer: ColumnSealer(key: sealingKey))
    }

    /// Moves every committed change out of the write-ahead log into the database file and empties the log, so
    /// what deleted rows held (which `secure_delete` zeroes in the database file) does not linger in earlier
    /// log frames. The purge service's periodic work.
    ///
    /// A checkpoint changes no row, so the catalog's version stays what it was (`version()` reads the emptied log as
    /// the log before it) unless another connection committed around it.
    public func checkpoint() async throws {
        try await database.writeWithoutTransaction { db in
            let others = try Int.fetchOne(db, sql: "PRAGMA data_version")  // changes when another connection commits
            let before = logState()
            _ = try db.checkpoint(.truncate)
            let after = logFile()
            let alone = try Int.fetchOne(db, sql: "PRAGMA data_version") == others
            checkpointed.withLock { $0 = alone ? (before: before, after: after) : nil }
        }
    }

    /// SQLite's `synchronous` level on the connection that commits (2 is FULL).
    var synchronousLevel: Int {
        get throws { try database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 } }
    }

    /// An in-memory catalog for tests.
    public static func inMemory() throws -> SQLiteCatalog {
        try SQLiteCatalog(database: DatabaseQueue(), sealer: ColumnSealer(key: SymmetricKey(size: .bits256)))
    }

    init(database: any DatabaseWriter, sealer: ColumnSealer) throws {
        self.database = database
        self.sealer = sealer
        logPath = database.path.isEmpty || database.path == ":memory:" ? nil : database.path + "-wal"
        try Self.migrator(sealer: sealer).migrate(database)
        database.add(transactionObserver: CommitCounter(commits: commits), extent: .databaseLifetime)
    }

    /// The write-ahead log's path; nil for a database in memory.
    private let logPath: String?

    /// Commits this process made (every write goes through the one writer connection, which counts them before the
    /// write returns).
    let commits = CommitCounter.Count()

    /// The catalog's version: this process's commits, and the write-ahead log's size and modification time (which
    /// another process's commit, such as an operator's command on a running server's directory, changes).
    func version() -> CatalogVersion {
        CatalogVersion(commits: commits.value, log: logState())
    }

    var localVersion: CatalogVersion? { version() }

    /// The write-ahead log's size and modification time as `version()` counts them: after this process's last
    /// checkpoint, if nothing has been written since, those from before it.
    private func logState() -> CatalogVersion.LogState {
        let file = logFile()
        return checkpointed.withLock { last in last.flatMap { $0.after == file ? $0.before : nil } ?? file }
    }

    /// The write-ahead log's size and modification time on disk.
    private func logFile() -> CatalogVersion.LogState {
        guard let logPath else { return .init() }  // in memory: this process's commits are all
        var info = stat()
        guard stat(logPath, &info) == 0 else { return .init() }
        return .init(size: Int64(info.st_size), modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// The log as it was before and after this process's last checkpoint, when no other connection committed around it.
    private let checkpointed = Mutex<(before: CatalogVersion.LogState, after: CatalogVersion.LogState)?>(nil)

    /// Migrations are named and never edited once shipped; add new ones at the end.
    static func migrator(sealer: ColumnSealer) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 organizations, projects, api keys, indexes") { db in
            try db.create(table: "organization") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("plan", .text).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "project") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).notNull().references("organization", onDelete: .restrict)
                t.column("name", .text).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "api_key") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("label", .text).notNull()
                t.column("secret_hash", .text).notNull().unique()
                t.column("roles", .jsonText).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "index_definition") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().references("project", onDelete: .restrict)
                t.column("name", .text).notNull()
                t.column("vector_type", .text).notNull()
                t.column("dimension", .integer)
                t.column("metric", .text).notNull()
                t.column("deletion_protection", .text).notNull()
                t.column("tags", .jsonText).notNull()
                t.column("deployment", .jsonText).notNull()
                t.column("read_capacity", .jsonText).notNull()
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["project_id", "name"])
            }
        }
        migrator.registerMigration("v2 project settings, service accounts, role bindings") { db in
            try db.alter(table: "project") { t in
                t.add(column: "max_pods", .integer).notNull().defaults(to: 0)
                t.add(column: "force_encryption_with_cmek", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "service_account") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).notNull().indexed().references("organization", onDelete: .restrict)
                t.column("name", .text).notNull()
                t.column("client_id", .text).notNull().unique()
                t.column("secret_hash", .text).notNull()
                t.column("secret_generation", .integer).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(table: "role_binding") { t in
                t.primaryKey("id", .text)
                t.column("principal_type", .text).notNull()
                t.column("principal_id", .text).notNull()
                t.column("resource_type", .text).notNull()
                t.column("resource_id", .text).notNull()
                t.column("role", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["principal_type", "principal_id", "resource_type", "resource_id"])
            }
            try db.create(index: "role_binding_principal", on: "role_binding", columns: ["principal_type", "principal_id"])
        }
        migrator.registerMigration("v3 users and invites") { db in
            try db.create(table: "user") { t in
                t.primaryKey("id", .text)
                t.column("email", .text).notNull().unique()
                t.column("name", .text)
                t.column("password_hash", .text)
                t.column("password_generation", .integer).notNull().defaults(to: 1)
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "invite") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).notNull().indexed().references("organization", onDelete: .cascade)
                t.column("email", .text).notNull()
                t.column("token_hash", .text).notNull().unique()
                t.column("role_bindings", .jsonText).notNull()
                t.column("status", .text).notNull()
                t.column("expires_at", .datetime).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("processed_at", .datetime)
            }
        }
        registerAuditMigration(&migrator)
        registerSealingMigration(&migrator, sealer: sealer)
        migrator.registerMigration("v6 customer-managed keys") { db in
            try db.create(table: "cmek_key") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().unique().references("project", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("role_arn", .text)
                t.column("key_arn", .text).notNull()
                t.column("external_id", .blob)
                t.column("created_at", .datetime).notNull()
            }
            try db.alter(table: "index_definition") { t in t.add(column: "cmek_id", .text) }
        }
        registerUsageMigration(&migrator)
        migrator.registerMigration("v8 private endpoints") { db in
            try db.create(table: "private_endpoint") { t in
                t.primaryKey("id", .text)
                t.column("project_id", .text).notNull().indexed().references("project", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("region", .text).notNull()
                t.column("vpc_endpoint_id", .text)
                t.column("allowed_cidrs", .jsonText).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.alter(table: "project") { t in t.add(column: "private_endpoint_access_only", .boolean).notNull().defaults(to: false) }
        }
        registerBackupMigration(&migrator)
        registerAuditChainMigration(&migrator, sealer: sealer)
        // Customer free text kept so far in clear: index tags, backup descriptions and the definitions backups
        // keep (with their tags). Names stay in clear: they are what lookups and uniqueness go by.
        migrator.registerMigration("v13 sealed tags and descriptions") { db in
            for row in try Row.fetchAll(db, sql: "SELECT id, tags FROM index_definition") {
                let tags = Data(((row["tags"] as String?) ?? "{}").utf8)
                try db.execute(sql: "UPDATE index_definition SET tags = ? WHERE id = ?", arguments: [try sealer.seal(tags, .indexTags), row["id"] as String])
            }
            for row in try Row.fetchAll(db, sql: "SELECT id, description, source FROM backup") {
                try db.execute(
                    sql: "UPDATE backup SET description = ?, source = ? WHERE id = ?",
                    arguments: [
                        try (row["description"] as String?).map { try sealer.seal(Data($0.utf8), .backupDescription) },
                        try sealer.seal(Data((row["source"] as String).utf8), .backupSource), row["id"] as String,
                    ]
                )
            }
        }
        migrator.registerMigration("v14 project rate limits") { db in
            try db.alter(table: "project") { t in t.add(column: "rate_limits", .text) }
        }
        registerAuditOutboxMigration(&migrator)
        migrator.registerMigration("v16 vector encoding") { db in
            try db.alter(table: "index_definition") { t in t.add(column: "vector_encoding", .text).notNull().defaults(to: "float32") }
        }
        registerUsageBySKUMigration(&migrator)
        registerMailMigration(&migrator)
        registerSpendAlertMigration(&migrator)
        registerConsoleSessionMigration(&migrator)
        registerSSOMigration(&migrator)
        migrator.registerMigration("v22 index home") { db in
            // The server holding the index's files when several share a catalog (a PostgreSQL one); NULL here.
            try db.alter(table: "index_definition") { t in t.add(column: "home", .text) }
        }
        return migrator
    }

    static func endpoint(_ row: PrivateEndpointRow) throws -> PrivateEndpoint {
        PrivateEndpoint(
            id: row.id, projectID: row.projectID, name: row.name, region: row.region, vpcEndpointID: row.vpcEndpointID,
            allowedCIDRs: try row.allowedCIDRs.map { text throws(ConiferError) in try CIDRBlock(text) }, createdAt: row.createdAt
        )
    }

    static func uuid(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw ConiferError(.internalError, "Corrupt id in catalog") }
        return id
    }
}

/// A cache of parsed address-block lists, keyed by the JSON text they are stored as (so a changed list is a new
/// key, and nothing needs invalidating); emptied when it grows past `limit` lists.
final class ParsedBlocks: Sendable {
    private let lists = Mutex<[String: [CIDRBlock]]>([:])
    let limit = 4096

    func parse(_ json: String) throws -> [CIDRBlock] {
        if let known = lists.withLock({ $0[json] }) { return known }
        let texts = try JSONDecoder().decode([String].self, from: Data(json.utf8))
        var blocks: [CIDRBlock] = []
        for text in texts { blocks.append(try CIDRBlock(text)) }
        lists.withLock { lists in
            if lists.count >= limit { lists.removeAll() }
            lists[json] = blocks
        }
        return blocks
    }
}

/// Counts the commits of the catalog's writer connection that changed a row (a GRDB transaction observer: told of
/// every commit, before the write that made it returns). A write that changed nothing — the periodic work that finds
/// nothing to delete or to cut — leaves the count, and so what the catalog's cache keeps, as it was.
final class CommitCounter: TransactionObserver {
    final class Count: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func increment() { count.withLock { $0 += 1 } }
    }

    let commits: Count

    init(commits: Count) {
        self.commits = commits
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    /// The writer's rows inserted, updated or deleted since it opened (SQLite's `total_changes`) at the last commit.
    private var changes = 0

    func databaseDidCommit(_ db: Database) {
        let total = db.totalChangesCount
        guard total != changes else { return }
        changes = total
        commits.increment()
    }
    func databaseDidRollback(_ db: Database) {}
}

