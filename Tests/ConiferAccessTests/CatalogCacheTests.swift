import ConiferCore
import Foundation
import Testing
@testable import ConiferAccess

/// The principals and data-plane views a server keeps between requests: used while the catalog is unchanged,
/// dropped by any commit — this process's or another's (a second connection here, an operator's command on a
/// running server in practice) — so a deleted key or index is gone on the next request.
@Suite struct CatalogCacheTests {
    @Test func anyCommitByAnyConnectionDropsWhatWasKept() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = CatalogTests.sealingKey
        let served = try SQLiteCatalog(directory: directory, sealingKey: key)
        let service = CatalogService(catalog: served)
        let boot = try #require(try await service.bootstrapIfNeeded(apiKeyValue: nil))
        let extra = try await served.createAPIKey(projectID: boot.projectID, name: "extra", roles: [.projectEditor])
        let principal = try #require(try await service.authenticate(apiKey: extra.value))
        _ = try await service.createIndex(IndexCreation(name: "kept", dimension: 3), pass: principal.authorize(.indexesWrite))
        let pass = try principal.authorize(.dataRead)
        #expect(try await service.dataPlaneIndex(named: "kept", pass: pass).definition.name == "kept")

        // Kept: the same answers come from the cache while nothing commits.
        #expect(try await service.authenticate(apiKey: extra.value) == principal)
        let version = served.version()
        #expect(service.cache.principal(keyHash: APIKeySecret.hash(extra.value), at: version) == principal)
        #expect(service.cache.index(.init(project: boot.projectID, organization: boot.organizationID, name: "kept"), at: version) != nil)
        #expect(served.version() == version, "reading changes nothing")
        // Nor does emptying the write-ahead log (the purge service's checkpoint, once a minute): no row changed.
        try await served.checkpoint()
        try await served.checkpoint()
        #expect(served.version() == version, "a checkpoint changes no row")
        // Nor a write that finds nothing to change (the periodic purges and drains, most of the time).
        try await served.database.write { db in try db.execute(sql: "DELETE FROM api_key WHERE name = 'nobody'") }
        #expect(served.version() == version, "a write that changed no row")
        #expect(service.cache.principal(keyHash: APIKeySecret.hash(extra.value), at: served.version()) == principal)

        // Another connection to the same catalog (as another process would) deletes the key: gone on the next call.
        let other = try SQLiteCatalog(directory: directory, sealingKey: key)
        try await other.deleteAPIKeyRow(extra.id)
        #expect(served.version() != version)
        #expect(try await service.authenticate(apiKey: extra.value) == nil)
        // Also when this process empties the log after another's commit: the commit is not forgotten.
        let afterDeletion = served.version()
        try await other.deleteAPIKeyRow(try await other.createAPIKey(projectID: boot.projectID, name: "brief", roles: [.projectEditor]).id)
        try await served.checkpoint()
        #expect(served.version() != afterDeletion)

        // And this process's own commits: a deleted index is gone for the data plane at once.
        let bootPrincipal = try #require(try await service.authenticate(apiKey: boot.apiKeyValue))
        #expect(try await service.dataPlaneIndex(named: "kept", pass: bootPrincipal.authorize(.dataRead)).definition.name == "kept")
        _ = try await service.deleteIndex(named: "kept", pass: bootPrincipal.authorize(.indexesWrite))
        await #expect(throws: ConiferError.indexNotFound("kept")) {
            try await service.dataPlaneIndex(named: "kept", pass: bootPrincipal.authorize(.dataRead))
        }
        // Unknown keys are not kept (nobody can fill the cache).
        #expect(try await service.authenticate(apiKey: "pcsk_unknown_0123456789abcdefghijklmnopqrstuv") == nil)
        #expect(service.cache.principal(keyHash: APIKeySecret.hash("pcsk_unknown_0123456789abcdefghijklmnopqrstuv"), at: served.version()) == nil)
    }

    /// On a shared catalog the version is a row every change counts up, read with one query per request: a key
    /// deleted through another server is refused by this one on its next request, and nothing is answered from the
    /// cache without asking the catalog first.
    @Test func onPostgreSQLAnotherServersCommitDropsWhatWasKept() async throws {
        guard PostgresTestDatabase.enabled else { return }
        let location = try await PostgresTestDatabase.fresh()
        let served = try await PostgresCatalog.open(location, poolSize: 2, master: PostgresTestDatabase.master)
        let other = try await PostgresCatalog.open(location, poolSize: 2, master: PostgresTestDatabase.master)
        defer { served.close(); other.close() }
        let service = CatalogService(store: served)
        let boot = try #require(try await service.bootstrapIfNeeded(apiKeyValue: nil))
        let extra = try await served.createAPIKey(projectID: boot.projectID, name: "extra", roles: [.projectEditor])
        let principal = try #require(try await service.authenticate(apiKey: extra.value))
        let version = try await served.version()
        #expect(service.cache.principal(keyHash: APIKeySecret.hash(extra.value), at: version) == principal)
        #expect(try await service.authenticate(apiKey: extra.value) == principal)
        #expect(try await served.version() == version, "reading changes nothing")
        try await served.writeSQL { sql in try sql.execute("DELETE FROM api_key WHERE name = 'nobody'") }
        #expect(try await served.version() == version, "a write that changed no row")
        #expect(service.principalIfCached(apiKey: extra.value) == nil, "no answer without asking the shared catalog")

        try await other.deleteAPIKeyRow(extra.id)
        #expect(try await served.version() != version)
        #expect(try await service.authenticate(apiKey: extra.value) == nil)
    }

    /// An access token's identity (its subject's roles) is kept while the catalog is unchanged and read again after
    /// any change, so a role taken away through any server or connection holds at the next request.
    @Test(arguments: TestStore.available)
    func anAccessTokensIdentityIsKeptUntilTheCatalogChanges(_ store: TestStore) async throws {
        let catalog = try await store.make()
        let admin = AdminService(store: catalog)
        let owner = try await catalog.createOrganization(name: "cached", plan: .enterprise).owner.account
        let generation = try #require(try await catalog.read { try $0.serviceAccount(owner.id)?.secretGeneration })
        let identity = try #require(try await admin.identity(serviceAccount: owner.id, generation: generation))
        #expect(identity.organizationRole == .owner)
        let key = CatalogCache.IdentityKey(subject: .serviceAccount(owner.id), generation: generation)
        #expect(admin.cache.identity(key, at: try await catalog.version()) == identity, "kept")
        #expect(try await admin.identity(serviceAccount: owner.id, generation: generation + 1) == nil, "another generation is not the kept one")

        try await catalog.write { rows in
            for var binding in try rows.roleBindings(BindingQuery(principalType: .serviceAccount, principalID: owner.id)) {
                binding.role = .organization(.member)
                try rows.replace(binding)
            }
        }
        #expect(admin.cache.identity(key, at: try await catalog.version()) == nil, "dropped by the change")
        #expect(try await admin.identity(serviceAccount: owner.id, generation: generation)?.organizationRole == .member)
    }
}
