import ConiferCore
import ConiferKeys
import Foundation
import Testing
@testable import ConiferAccess

/// Several servers on one PostgreSQL catalog: each has its own `PostgresCatalog` (its own connections), as two
/// `conifer serve` processes would.
@Suite(.enabled(if: PostgresTestDatabase.enabled, "needs CONIFER_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)"))
struct PostgresCatalogTests {
    /// Two servers racing to create indexes in one Starter project (5 serverless indexes): the quota is read and
    /// checked inside each SERIALIZABLE transaction, so exactly five are created — never six — however the creates
    /// interleave, and every refusal is the quota's 429-class error, not a conflict or a 5xx.
    @Test func aQuotaHoldsWhenTwoServersCreateAtOnce() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let a = try await PostgresCatalog.open(location, poolSize: 4, master: PostgresTestDatabase.master)
        let b = try await PostgresCatalog.open(location, poolSize: 4, master: PostgresTestDatabase.master)
        defer { a.close(); b.close() }
        let (organization, _) = try await a.createOrganization(name: "starter", plan: .starter)
        let project = try await a.createProject(name: "p", organizationID: organization.id)
        let key = try await a.createAPIKey(projectID: project, name: "k", roles: [.projectEditor])
        let servers = [CatalogService(store: a), CatalogService(store: b)]
        let passes = try await servers.asyncMap { try #require(try await $0.authenticate(apiKey: key.value)).authorize(.indexesWrite) }

        let attempts = 12
        let outcomes = await withTaskGroup(of: ConiferError.Code?.self) { group in
            for i in 0..<attempts {
                group.addTask {
                    do {
                        _ = try await servers[i % 2].createIndex(IndexCreation(name: "index-\(i)", dimension: 3), pass: passes[i % 2])
                        return nil
                    } catch let error as ConiferError {
                        return error.code
                    } catch {
                        return .internalError
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == Plan.starter.maxIndexesPerProject)
        #expect(outcomes.compactMap { $0 }.allSatisfy { $0 == .quotaExceeded }, "\(outcomes)")
        let listed = try await servers[1].listIndexes(pass: passes[1])
        #expect(listed.count == Plan.starter.maxIndexesPerProject)
    }

    /// A key deleted through one server no longer authenticates on the other at its next request.
    @Test func aKeyDeletedOnOneServerIsRefusedOnTheOther() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let a = try await PostgresCatalog.open(location, poolSize: 2, master: PostgresTestDatabase.master)
        let b = try await PostgresCatalog.open(location, poolSize: 2, master: PostgresTestDatabase.master)
        defer { a.close(); b.close() }
        let onA = CatalogService(store: a)
        let onB = CatalogService(store: b)
        let boot = try #require(try await onA.bootstrapIfNeeded(apiKeyValue: nil))
        #expect(try await onB.bootstrapIfNeeded(apiKeyValue: nil) == nil, "the second server finds the catalog made")
        let key = try await a.createAPIKey(projectID: boot.projectID, name: "temporary", roles: [.projectEditor])
        #expect(try await onB.authenticate(apiKey: key.value) != nil)
        try await a.deleteAPIKeyRow(key.id)
        #expect(try await onB.authenticate(apiKey: key.value) == nil)
    }

    /// The servers of one catalog share its keys through the master key: a token issued by one verifies on the
    /// other, a sealed column written by one opens on the other; a server given another master key does not start.
    @Test func theServersOfACatalogShareItsKeysThroughTheMasterKey() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let a = try await PostgresCatalog.open(location, poolSize: 1, master: PostgresTestDatabase.master)
        let b = try await PostgresCatalog.open(location, poolSize: 1, master: PostgresTestDatabase.master)
        defer { a.close(); b.close() }
        let token = try await TokenService.inMemory(key: a.tokenSigningKey).issue(for: .serviceAccount(UUID()), generation: 1)
        #expect(await TokenService.inMemory(key: b.tokenSigningKey).verify(token) != nil)

        let (organization, _) = try await a.createOrganization(name: "o", plan: .enterprise)
        try await a.write { rows in
            var row = try #require(try rows.organization(organization.id))
            let address = BillingContact.Address(line1: "1 Main St", city: "Oslo", postal_code: "0150", country: "NO")
            try rows.setBillingContact(BillingContact(name: "Ada", email: "ada@example.com", address: address), of: &row)
            try rows.save(row)
        }
        let contact = try await b.read { rows in try rows.billingContact(of: try #require(try rows.organization(organization.id))) }
        #expect(contact?.email == "ada@example.com")

        let wrong = MasterKey.generate()
        let refusal = await #expect(throws: ConiferError.self) { _ = try await PostgresCatalog.open(location, poolSize: 1, master: wrong) }
        #expect(refusal?.message.contains(PostgresTestDatabase.master.id) == true && refusal?.message.contains(wrong.id) == true, "\(String(describing: refusal))")
    }

    /// A master-key rotation re-wraps the catalog's key: the new master key opens the same catalog (its sealed columns
    /// and token key unchanged), the old one no longer does, and a second run has nothing to do.
    @Test func aMasterKeyRotationRewrapsTheCatalogsKey() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let old = MasterKey.generate(), new = MasterKey.generate()
        let before = try await PostgresCatalog.open(location, poolSize: 1, master: old)
        let (organization, _) = try await before.createOrganization(name: "kept", plan: .enterprise)
        before.close()
        #expect(try await PostgresCatalog.rewrapKey(location, from: old, to: new))
        #expect(try await PostgresCatalog.rewrapKey(location, from: old, to: new) == false)
        let after = try await PostgresCatalog.open(location, poolSize: 1, master: new)
        defer { after.close() }
        #expect(after.tokenSigningKey.pemRepresentation == before.tokenSigningKey.pemRepresentation)
        #expect(try await after.read { try $0.organization(organization.id)?.name } == "kept")
        await #expect(throws: ConiferError.self) { _ = try await PostgresCatalog.open(location, poolSize: 1, master: old) }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
