import ConiferCore
import Crypto
import Foundation

/// The catalog's rules over its rows (`CatalogStore`): which project a pass reaches and with which permission,
/// the plan's quotas, pod limits, the customer-managed-key policy, collection names, backup counts and schedule
/// rules, each decided inside the transaction of the change it allows. The SQLite catalog (and later a
/// PostgreSQL one) only stores and loads rows; every rule is here, once.
public struct CatalogService: Catalog {
    let store: any CatalogStore
    /// API keys' principals and indexes' data-plane views, for as long as the catalog does not change.
    let cache = CatalogCache()

    init(store: any CatalogStore) {
        self.store = store
    }

    /// The service over the SQLite catalog.
    public init(catalog: SQLiteCatalog) {
        self.init(store: catalog)
    }

    /// The first project's `max_pods`.
    static let bootstrapMaxPods = 100

    public func bootstrapIfNeeded(apiKeyValue: String?) async throws -> BootstrapResult? {
        if let apiKeyValue {
            guard apiKeyValue.utf8.count >= APIKeySecret.minimumLength, APIKeySecret.isPlausible(apiKeyValue) else {
                throw ConiferError.invalidArgument(
                    "CONIFER_BOOTSTRAP_API_KEY must be \(APIKeySecret.minimumLength) to 256 printable ASCII characters without spaces."
                )
            }
        }
        return try await store.write { rows -> BootstrapResult? in
            guard try rows.firstOrganization() == nil else { return nil }
            let now = Date()
            // Enterprise, so that every feature is there to try; `conifer org plan set` changes it.
            let organization = OrganizationRow(id: UUID(), name: "default", plan: .enterprise, createdAt: now)
            try rows.save(organization)
            // Room for pod-based indexes, as a new Standard or Enterprise project on Pinecone would ask for.
            let project = ProjectRow(id: UUID(), organizationID: organization.id, name: "default", createdAt: now, maxPods: Self.bootstrapMaxPods)
            try rows.save(project)
            let value = apiKeyValue ?? APIKeySecret.generate().value
            try rows.save(APIKeyRow(
                id: UUID(), projectID: project.id, name: "default", label: APIKeySecret.label(of: value),
                secretHash: APIKeySecret.hash(value), roles: [.projectEditor], createdAt: now
            ))
            return BootstrapResult(
                organizationID: organization.id, projectID: project.id,
                apiKeyValue: value, generatedKey: apiKeyValue == nil
            )
        }
    }

    public func authenticate(apiKey: String) async throws -> Principal? {
        guard APIKeySecret.isPlausible(apiKey) else { return nil }
        let presented = APIKeySecret.hash(apiKey)
        let version = try await store.version()
        if let known = cache.principal(keyHash: presented, at: version) { return known }
        let principal = try await store.read { rows -> Principal? in
            guard let found = try rows.apiKey(secretHash: presented), APIKeySecret.constantTimeEquals(found.key.secretHash, presented) else { return nil }
            return Principal.apiKey(
                id: found.key.id, roles: Set(found.key.roles), projectID: found.key.projectID,
                organizationID: found.organizationID
            )
        }
        if let principal { cache.remember(principal, keyHash: presented, at: version) }
        return principal
    }

    public func principalIfCached(apiKey: String) -> Principal? {
        guard APIKeySecret.isPlausible(apiKey) else { return nil }
        guard let version = store.localVersion else { return nil }
        return cache.principal(keyHash: APIKeySecret.hash(apiKey), at: version)
    }

    // MARK: Indexes

    public func listIndexes(pass: AuthorizationPass) async throws -> [IndexDefinition] {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.indexes(project: principal.projectID).sorted { $0.name < $1.name } }
    }

    public func index(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try Self.caller(pass)
        return try await store.read { rows in try Self.index(rows, name, principal) }
    }

    public func dataPlaneIndex(named name: String, pass: AuthorizationPass) async throws -> DataPlaneIndex {
        let principal = try Self.caller(pass)
        let key = CatalogCache.IndexKey(project: principal.projectID, organization: principal.organizationID, name: name)
        let version = try await store.version()
        if let known = cache.index(key, at: version) { return known }
        let index = try await store.read { rows in
            guard let index = try rows.dataPlaneIndex(named: name, project: principal.projectID, organization: principal.organizationID) else {
                throw ConiferError.indexNotFound(name)
            }
            return index
        }
        cache.remember(index, key, at: version)
        return index
    }

    public func dataPlaneIndexIfCached(named name: String, pass: AuthorizationPass) -> DataPlaneIndex? {
        guard let principal = pass.principal else { return nil }
        let key = CatalogCache.IndexKey(project: principal.projectID, organization: principal.organizationID, name: name)
        guard let version = store.localVersion else { return nil }
        return cache.index(key, at: version)
    }

    public func privateEndpointRegions(pass: AuthorizationPass) async throws -> Set<String> {
        let principal = try pass.principal(requiring: .indexesRead)
        return try await store.read { rows in try rows.privateEndpointRegions(project: principal.projectID) }
    }

    public func createIndex(_ creation: IndexCreation, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        let requested = try IndexRules.definition(for: creation, projectID: principal.projectID)
        return try await store.write { rows in
            var definition = requested
            guard try rows.index(named: definition.name, project: definition.projectID) == nil else {
                throw ConiferError.alreadyExists("Resource \(definition.name) already exists.")
            }
            let project = try rows.project(definition.projectID)
            let plan = try project.flatMap { try rows.organization($0.organizationID)?.plan } ?? .starter
            let indexes = try rows.indexes(project: definition.projectID)
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
            // A project with a customer-managed key puts every index under it; one that forces CMEK has no index
            // until the key is set.
            let key = try rows.cmekKey(project: definition.projectID)
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
                guard let collection = try rows.collection(named: name, project: definition.projectID) else {
                    throw ConiferError.notFound("Collection \(name.prefix(64)) not found.")
                }
                definition.restoreJobID = collection.id
            }
            if let job = creation.restoreJobID { definition.restoreJobID = job }
            try rows.insert(definition)
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

    public func configureIndex(named name: String, _ change: IndexConfiguration, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let current = try Self.index(rows, name, principal)
            let next = try current.configured(with: change)
            let added = next.deployment.podCount - current.deployment.podCount
            if added > 0 {
                let project = try rows.project(principal.projectID)
                let plan = try rows.organization(principal.organizationID)?.plan ?? .starter
                try Self.checkPods(project: project, plan: plan, indexes: try rows.indexes(project: principal.projectID), adding: added)
            }
            try rows.update(next)
            return next
        }
    }

    public func deleteIndex(named name: String, pass: AuthorizationPass) async throws -> IndexDefinition {
        let principal = try pass.principal(requiring: .indexesWrite)
        return try await store.write { rows in
            let index = try Self.index(rows, name, principal)
            guard index.deletionProtection == .disabled else {
                throw ConiferError.forbidden("Deletion protection is enabled for this index. Disable deletion protection before retrying.")
            }
            try rows.deleteIndex(index.id)
            return index
        }
    }

    public func removeIndex(_ id: UUID) async throws {
        try await store.write { rows in try rows.deleteIndex(id) }
    }

    public func allIndexes() async throws -> [IndexDefinition] {
        try await store.read { rows in try rows.allIndexes() }
    }

    public func cmekKey(project: UUID) async throws -> CMEKKey? {
        try await store.read { rows in try rows.cmekKey(project: project) }
    }

    public func plan(of organization: UUID) async throws -> Plan {
        try await store.read { rows in try rows.organization(organization)?.plan ?? .starter }
    }

    public func rateLimitSettings(project: UUID) async throws -> (plan: Plan, rateLimits: String?) {
        try await store.read { rows in
            let settings = try rows.rateLimits(project: project)
            return (settings.plan ?? .starter, settings.rateLimits)
        }
    }

    /// A project's name and organization, for an operator's command (nil when there is no such project).
    public func project(_ id: UUID) async throws -> (name: String, organizationID: UUID)? {
        try await store.read { rows in try rows.project(id).map { ($0.name, $0.organizationID) } }
    }

    /// Sets (or, with nil, clears) the operator's rate limits of a project; returns its name and organization. An
    /// operator's call (`conifer org rate-limits`).
    public func setRateLimits(project: UUID, _ limits: String?) async throws -> (name: String, organizationID: UUID) {
        try await store.write { rows in
            guard try rows.setRateLimits(limits, project: project), let row = try rows.project(project) else {
                throw ConiferError.notFound("Project \(project.lowercasedString) not found.")
            }
            return (row.name, row.organizationID)
        }
    }

    // MARK: Helpers

    /// The caller a lookup is for: a request's principal (a system pass has no project).
    static func caller(_ pass: AuthorizationPass) throws -> Principal {
        guard let principal = pass.principal else { throw ConiferError(.internalError, "An index is looked up for a caller's pass.") }
        return principal
    }

    /// An index of the caller's project; another project's answers exactly like a missing one.
    static func index(_ rows: any CatalogRows, _ name: String, _ principal: Principal) throws -> IndexDefinition {
        guard let index = try rows.index(named: name, project: principal.projectID) else { throw ConiferError.indexNotFound(name) }
        return index
    }
}
