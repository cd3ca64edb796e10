import ConiferCore
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
        let a = try await PostgresCatalog.open(location, poolSize: 4, sealingKey: CatalogTests.sealingKey)
        let b = try await PostgresCatalog.open(location, poolSize: 4, sealingKey: CatalogTests.sealingKey)
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
        let a = try await PostgresCatalog.open(location, poolSize: 2, sealingKey: CatalogTests.sealingKey)
        let b = try await PostgresCatalog.open(location, poolSize: 2, sealingKey: CatalogTests.sealingKey)
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
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
