import ConiferAccess
import ConiferCore
import ConiferStorage
import Foundation

/// Index lifecycle, the catalog and the stores in one flow: list, describe, create, configure and delete
/// (and later backup, restore and purge), each for the pass's project.
public struct IndexService: Sendable {
    let catalog: any Catalog
    let registry: StoreRegistry
    let metrics: IndexMetrics

    public init(catalog: any Catalog, registry: StoreRegistry, metrics: IndexMetrics = IndexMetrics(enabled: true)) {
        self.catalog = catalog
        self.registry = registry
        self.metrics = metrics
    }

    public func list(_ pass: AuthorizationPass) async throws -> [IndexDefinition] {
        try await catalog.listIndexes(pass: pass)
    }

    /// The regions where the pass's project has private endpoints (its indexes there have a `private_host`).
    public func privateEndpointRegions(_ pass: AuthorizationPass) async throws -> Set<String> {
        try await catalog.privateEndpointRegions(pass: pass)
    }

    /// Throws 402 unless the plan of the pass's organization includes Prometheus metrics.
    public func requireMetricsPlan(_ pass: AuthorizationPass) async throws {
        let principal = try pass.principal(requiring: .indexesRead)
        guard try await catalog.plan(of: principal.organizationID).allowsMetrics else {
            throw ConiferError(.paymentRequired, "Prometheus metrics need the Standard or Enterprise plan.")
        }
    }

    /// The index the pass may see, and its requests and units by minute and hour (the console's metrics tab).
    /// The record count is seen now too (a restore or an import brings records without a write).
    public func history(_ pass: AuthorizationPass, name: String) async throws -> (IndexDefinition, MetricsHistory) {
        let definition = try await describe(pass, name: name)
        // An index whose store refuses service still shows its history, without a count.
        if definition.restoreJobID == nil, let store = try? await registry.store(for: definition, pass: pass),
           let reader = try? store.reader(pass.delegating(.metrics)) {
            metrics.observe(records: DataPlaneService.recordCount(reader), for: definition)
        }
        return (definition, metrics.history(for: definition))
    }

    public func describe(_ pass: AuthorizationPass, name: String) async throws -> IndexDefinition {
        try pass.require(.indexesRead)
        return try await catalog.index(named: name, pass: pass)
    }

    /// Creates the definition: every way an index comes to exist (a create, a restore from a backup, a create
    /// from a collection) goes through here and the catalog's one rule set (name, plan, quotas, pods, CMEK). An index under a customer-managed key gets its data key from KMS at once, so
    /// a key Conifer cannot use refuses the creation (and leaves no index) instead of its first write.
    public func create(_ pass: AuthorizationPass, _ creation: IndexCreation) async throws -> IndexDefinition {
        var creation = creation
        creation.home = registry.home  // its files are made here
        let definition = try await catalog.createIndex(creation, pass: pass)
        guard definition.cmekID != nil else { return definition }
        do {
            _ = try await registry.store(for: definition, pass: pass)
        } catch {
            try await catalog.removeIndex(definition.id)
            try await registry.drop(indexID: definition.id, pass: pass)
            throw error
        }
        return definition
    }

    public func configure(_ pass: AuthorizationPass, name: String, _ change: IndexConfiguration) async throws -> IndexDefinition {
        try await catalog.configureIndex(named: name, change, pass: pass)
    }

    /// Retires the files of indexes whose definitions were deleted with their organization: data keys
    /// destroyed at once, files purged after the window. One that cannot be retired now is retired at the
    /// next start (`retireOrphans`).
    public func retire(deleted indexIDs: [UUID], organization: UUID) async {
        for id in indexIDs {
            try? await registry.drop(indexID: id, pass: .system(.purge), owner: .init(organizationID: organization, projectID: nil, name: nil))
            metrics.remove(id)
        }
    }

    /// Removes the definition first, so no request can reach the index, then stops its store and removes
    /// its files.
    public func delete(_ pass: AuthorizationPass, name: String) async throws -> IndexDefinition {
        let deleted = try await catalog.deleteIndex(named: name, pass: pass)
        metrics.remove(deleted.id)
        let owner = pass.principal.map { RetiredIndex.Owner(organizationID: $0.organizationID, projectID: deleted.projectID, name: deleted.name) }
        try await registry.drop(indexID: deleted.id, pass: pass, owner: owner)
        return deleted
    }
}
