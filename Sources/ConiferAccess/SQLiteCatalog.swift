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
public final class SQLiteCatalog: Catalog {
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
    public func checkpoint() async throws {
        try await database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
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
        try Self.migrator(sealer: sealer).migrate(database)
    }

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
        return migrator
    }

    // MARK: Bootstrap and keys

    public func bootstrapIfNeeded(apiKeyValue: String?) async throws -> BootstrapResult? {
        if let apiKeyValue {
            guard apiKeyValue.utf8.count >= APIKeySecret.minimumLength, APIKeySecret.isPlausible(apiKeyValue) else {
                throw ConiferError.invalidArgument(
                    "CONIFER_BOOTSTRAP_API_KEY must be \(APIKeySecret.minimumLength) to 256 printable ASCII characters without spaces."
                )
            }
        }
        return try await database.write { db -> BootstrapResult? in
            guard try OrganizationRow.fetchCount(db) == 0 else { return nil }
            let now = Date()
            let organization = OrganizationRow(id: UUID().lowercasedString, name: "default", plan: .enterprise, createdAt: now)
            try organization.insert(db)
            // Room for pod-based indexes, as a new Standard or Enterprise project on Pinecone would ask for.
            let project = ProjectRow(id: UUID().lowercasedString, organizationID: organization.id, name: "default", createdAt: now, maxPods: Self.bootstrapMaxPods)
            try project.insert(db)
            let value = apiKeyValue ?? APIKeySecret.generate().value
            try APIKeyRow(
                id: UUID().lowercasedString, projectID: project.id, name: "default", label: APIKeySecret.label(of: value),
                secretHash: APIKeySecret.hash(value), roles: [.projectEditor], createdAt: now
            ).insert(db)
            return BootstrapResult(
                organizationID: try Self.uuid(organization.id), projectID: try Self.uuid(project.id),
                apiKeyValue: value, generatedKey: apiKeyValue == nil
            )
        }
    }

    /// The first project's `max_pods`.
    static let bootstrapMaxPods = 100

    public func authenticate(apiKey: String) async throws -> Principal? {
        guard APIKeySecret.isPlausible(apiKey) else { return nil }
        let presentedHash = APIKeySecret.hash(apiKey)
        return try await database.read { db -> Principal? in
            // Looked up by hash: the SQL index only ever compares hashes, never the secret itself.
            guard let key = try APIKeyRow.filter(APIKeyRow.Columns.secretHash == presentedHash).fetchOne(db),
                  APIKeySecret.constantTimeEquals(key.secretHash, presentedHash),
                  let project = try ProjectRow.fetchOne(db, key: key.projectID)
            else { return nil }
            return Principal.apiKey(
                id: try Self.uuid(key.id), roles: Set(key.roles),
                projectID: try Self.uuid(project.id), organizationID: try Self.uuid(project.organizationID)
            )
        }
    }


    // MARK: Indexes

    public func listIndexes(pass: AuthorizationPass) async throws -> [IndexDefinition] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            try IndexRow.filter(IndexRow.Columns.projectID == principal.projectID.lowercasedString)
                .order(IndexRow.Columns.name)
                .fetchAll(db)
                .map { try $0.definition(sealer) }
        }
    }

    public func index(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition {
        guard let principal = pass.principal else { throw ConiferError(.internalError, "An index is looked up for a caller's pass.") }
        return try await database.read { db in try Self.fetchIndex(db, name: name, projectID: principal.projectID).definition(sealer) }
    }

    public func dataPlaneIndex(named name: String, pass: AuthorizationPass) async throws -> DataPlaneIndex {
        guard let principal = pass.principal else { throw ConiferError(.internalError, "An index is looked up for a caller's pass.") }
        let blocks = parsedBlocks
        return try await database.read { db in
            let definition = try Self.fetchIndex(db, name: name, projectID: principal.projectID).definition(sealer)
            let project = principal.projectID.lowercasedString
            let plan = try OrganizationRow.fetchOne(db, key: principal.organizationID.lowercasedString)?.plan ?? .starter
            let endpoints = try Row.fetchAll(
                db, sql: "SELECT id, name, vpc_endpoint_id, allowed_cidrs, created_at FROM private_endpoint WHERE project_id = ? AND region = ?",
                arguments: [project, definition.region]
            ).map { row in
                PrivateEndpoint(
                    id: try Self.uuid(row["id"]), projectID: principal.projectID, name: row["name"], region: definition.region,
                    vpcEndpointID: row["vpc_endpoint_id"], allowedCIDRs: try blocks.parse(row["allowed_cidrs"]), createdAt: row["created_at"]
                )
            }
            let settings = try Row.fetchOne(db, sql: "SELECT private_endpoint_access_only, rate_limits FROM project WHERE id = ?", arguments: [project])
            return DataPlaneIndex(
                definition: definition, plan: plan,
                network: PrivateNetworkPolicy(endpoints: endpoints, privateOnly: settings?["private_endpoint_access_only"] ?? false),
                rateLimits: settings?["rate_limits"]
            )
        }
    }

    public func privateEndpointRegions(pass: AuthorizationPass) async throws -> Set<String> {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await database.read { db in
            Set(try String.fetchAll(
                db, sql: "SELECT DISTINCT region FROM private_endpoint WHERE project_id = ?", arguments: [principal.projectID.lowercasedString]
            ))
        }
    }

    static func endpoint(_ row: PrivateEndpointRow) throws -> PrivateEndpoint {
        PrivateEndpoint(
            id: try uuid(row.id), projectID: try uuid(row.projectID), name: row.name, region: row.region, vpcEndpointID: row.vpcEndpointID,
            allowedCIDRs: try row.allowedCIDRs.map { text throws(ConiferError) in try CIDRBlock(text) }, createdAt: row.createdAt
        )
    }

    public func createIndex(_ creation: IndexCreation, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        let requested = try IndexRules.definition(for: creation, projectID: principal.projectID)
        let sealer = sealer
        return try await writeChange { db in
            var definition = requested
            let existing = IndexRow.filter(IndexRow.Columns.projectID == definition.projectID.lowercasedString && IndexRow.Columns.name == definition.name)
            guard try existing.fetchCount(db) == 0 else {
                throw ConiferError.alreadyExists("Resource \(definition.name) already exists.")
            }
            // A project with a customer-managed key puts every index under it; one that forces CMEK has no
            // index until the key is set.
            let rows = SQLiteRows(db: db, sealer: sealer)
            let project = try rows.project(definition.projectID.lowercasedString)
            let plan = try project.flatMap { try rows.organization($0.organizationID)?.plan } ?? .starter
            let indexes = try rows.indexes(project: definition.projectID.lowercasedString)
            if definition.deployment.podCount > 0 {
                try Self.checkPods(project: project, plan: plan, indexes: indexes, adding: definition.deployment.podCount)
            } else {
                let count = indexes.filter { $0.deployment.podCount == 0 }.count
                guard count < plan.maxIndexesPerProject else {
                    throw ConiferError(
                        .quotaExceeded,
                        "The project has reached its quota of \(plan.maxIndexesPerProject) serverless indexes on the \(plan.rawValue) plan; delete an index or upgrade the plan."
                    )
                }
            }
            let key = try rows.cmekKey(project: definition.projectID.lowercasedString)
            if let requested = creation.cmekID, requested != key?.id {
                throw ConiferError.invalidArgument("cmek_id names no customer-managed key known to this project.")
            }
            if key == nil, project?.forceEncryptionWithCMEK == true {
                throw ConiferError.failedPrecondition(
                    "This project requires encryption with a customer-managed key: add one (POST /admin/projects/{project_id}/cmek-keys) before creating indexes."
                )
            }
            definition.cmekID = key?.id
            if let name = creation.sourceCollection {
                // Not ready until the collection's records are written (`finishRestoredIndex`).
                guard let collection = try Self.fetchCollection(db, name: name, project: definition.projectID.lowercasedString, sealer) else {
                    throw ConiferError.notFound("Collection \(name.prefix(64)) not found.")
                }
                definition.restoreJobID = collection.id
            }
            if let job = creation.restoreJobID { definition.restoreJobID = job }
            try IndexRow(definition, sealer).insert(db)
            return definition
        }
    }

    /// Refuses `adding` more pods when the project's pod-based indexes would then take more than its `max_pods`
    /// (none on the Starter plan).
    static func checkPods(project: ProjectRow?, plan: Plan, indexes: [IndexDefinition], adding: Int) throws {
        let limit = plan.allowsPods ? project?.maxPods ?? 0 : 0
        let used = indexes.reduce(0) { $0 + $1.deployment.podCount }
        guard used + adding <= limit else {
            let reason = plan.allowsPods
                ? "its max_pods is \(limit) and its pod-based indexes take \(used); raise max_pods (PATCH /admin/projects/{project_id}) or delete a pod-based index"
                : "the \(plan.rawValue) plan has no pod-based indexes; use a serverless index or upgrade the plan"
            throw ConiferError(.quotaExceeded, "The project has reached its pod quota: this needs \(adding) more pods, but \(reason).")
        }
    }

    public func rateLimitSettings(project: UUID) async throws -> (plan: Plan, rateLimits: String?) {
        try await database.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT o.plan, p.rate_limits FROM project p JOIN organization o ON o.id = p.organization_id WHERE p.id = ?",
                arguments: [project.lowercasedString]
            )
            return ((row?["plan"] as String?).flatMap(Plan.init(rawValue:)) ?? .starter, row?["rate_limits"])
        }
    }

    /// Sets (or, with nil, clears) the operator's rate limits of a project; returns its name and organization.
    public func setRateLimits(project: UUID, _ limits: String?) async throws -> (name: String, organizationID: UUID) {
        try await writeChange { db in
            try db.execute(sql: "UPDATE project SET rate_limits = ? WHERE id = ?", arguments: [limits, project.lowercasedString])
            guard db.changesCount == 1, let row = try ProjectRow.fetchOne(db, key: project.lowercasedString) else {
                throw ConiferError.notFound("Project \(project.lowercasedString) not found.")
            }
            return (row.name, try Self.uuid(row.organizationID))
        }
    }

    public func plan(of organization: UUID) async throws -> Plan {
        try await database.read { db in try OrganizationRow.fetchOne(db, key: organization.lowercasedString)?.plan ?? .starter }
    }

    public func removeIndex(_ id: UUID) async throws {
        let sealer = sealer
        try await writeChange { db in try SQLiteRows(db: db, sealer: sealer).deleteIndex(id) }
    }

    public func cmekKey(project: UUID) async throws -> CMEKKey? {
        let sealer = sealer
        return try await database.read { db in try SQLiteRows(db: db, sealer: sealer).cmekKey(project: project.lowercasedString) }
    }

    public func configureIndex(named name: String, _ change: IndexConfiguration, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        let sealer = sealer
        return try await writeChange { db in
            let current = try Self.fetchIndex(db, name: name, projectID: principal.projectID).definition(sealer)
            let next = try current.configured(with: change)
            let added = next.deployment.podCount - current.deployment.podCount
            if added > 0 {
                let rows = SQLiteRows(db: db, sealer: sealer)
                let project = try rows.project(principal.projectID.lowercasedString)
                let plan = try rows.organization(principal.organizationID.lowercasedString)?.plan ?? .starter
                try Self.checkPods(project: project, plan: plan, indexes: try rows.indexes(project: principal.projectID.lowercasedString), adding: added)
            }
            try IndexRow(next, sealer).update(db)
            return next
        }
    }

    public func deleteIndex(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await writeChange { db in
            let row = try Self.fetchIndex(db, name: name, projectID: principal.projectID)
            guard row.deletionProtection == .disabled else {
                throw ConiferError.forbidden(
                    "Deletion protection is enabled for this index. Disable deletion protection before retrying."
                )
            }
            try row.delete(db)
            return try row.definition(sealer)
        }
    }

    public func allIndexes() async throws -> [IndexDefinition] {
        try await database.read { db in try IndexRow.fetchAll(db).map { try $0.definition(sealer) } }
    }

    // MARK: Helpers

    private static func fetchIndex(_ db: Database, name: String, projectID: UUID) throws -> IndexRow {
        guard let row = try IndexRow.filter(IndexRow.Columns.projectID == projectID.lowercasedString && IndexRow.Columns.name == name).fetchOne(db)
        else { throw ConiferError.indexNotFound(name) }
        return row
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
