@testable import ConiferAccess
import ConiferCore
import Crypto
import Foundation
import GRDB
import Testing

@Suite struct CatalogTests {
    static let sealingKey = SymmetricKey(size: .bits256)

    /// GRDB sets `synchronous = NORMAL` when it opens a pool; the catalog must commit with FULL (fsync of
    /// the WAL at every commit), on first open and on reopen. conformance/test_durability.py shows the
    /// fdatasync before the response.
    @Test func theCatalogCommitsWithFullSynchronousOnAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey).synchronousLevel == 2)
        #expect(try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey).synchronousLevel == 2)
    }

    /// A deleted row leaves no copy in the catalog's files once the log is checkpointed: `secure_delete`
    /// zeroes it in the database file and the checkpoint empties the write-ahead log.
    @Test func aDeletedRowLeavesNoCopyInTheCatalogFilesAfterACheckpoint() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey)
        let boot = try #require(try await CatalogService(catalog: catalog).bootstrapIfNeeded(apiKeyValue: nil))
        let marker = "deleted-key-QUOKKA-4471"
        let created = try await catalog.createAPIKey(projectID: boot.projectID, name: marker, roles: [.projectViewer])
        func present() throws -> Bool {
            try FileManager.default.contentsOfDirectory(atPath: directory.path).contains { name in
                let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
                return bytes.range(of: Data(marker.utf8)) != nil
            }
        }
        #expect(try present())
        try await catalog.deleteAPIKeyRow(created.id)
        try await catalog.checkpoint()
        #expect(try !present())
    }

    let bootstrapKey = "pcsk_testboot_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

    @Test(arguments: TestStore.available) func bootstrapHappensOnceAndItsKeyAuthenticates(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        let result = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey))
        #expect(result.apiKeyValue == bootstrapKey)
        #expect(!result.generatedKey)
        #expect(try await catalog.bootstrapIfNeeded(apiKeyValue: "pcsk_other_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") == nil)
        let principal = try #require(try await catalog.authenticate(apiKey: bootstrapKey))
        #expect(principal.projectID == result.projectID)
        #expect(principal.organizationID == result.organizationID)
        #expect(principal.permissions == [.indexesRead, .indexesWrite, .dataRead, .dataWrite])
        #expect(try await catalog.authenticate(apiKey: "pcsk_other_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") == nil)
        #expect(try await catalog.authenticate(apiKey: "") == nil)
        #expect(try await catalog.authenticate(apiKey: bootstrapKey + " ") == nil)
    }

    @Test(arguments: TestStore.available) func generatedBootstrapKeyWorks(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        let result = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: nil))
        #expect(result.generatedKey)
        #expect(result.apiKeyValue.hasPrefix("pcsk_"))
        #expect(try await catalog.authenticate(apiKey: result.apiKeyValue) != nil)
    }

    @Test(arguments: TestStore.available) func weakBootstrapKeyIsRefused(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        await #expect(throws: ConiferError.self) { try await catalog.bootstrapIfNeeded(apiKeyValue: "short") }
        await #expect(throws: ConiferError.self) { try await catalog.bootstrapIfNeeded(apiKeyValue: "has spaces in the middle of it") }
    }

    @Test(arguments: TestStore.available) func indexesAreScopedToTheirProject(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        let boot = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey))
        let a = try #require(try await catalog.authenticate(apiKey: bootstrapKey))
        let otherProject = try await store.createProject(name: "other", organizationID: boot.organizationID)
        let keyB = try await store.createAPIKey(projectID: otherProject, name: "b", roles: [.projectEditor])
        let b = try #require(try await catalog.authenticate(apiKey: keyB.value))
        #expect(b.projectID == otherProject)

        let created = try await catalog.createIndex(IndexCreation(name: "shared-name", dimension: 3), pass: a.authorize(.indexesWrite))
        #expect(created.projectID == a.projectID)
        await #expect(throws: ConiferError.indexNotFound("shared-name")) {
            try await catalog.index(named: "shared-name", pass: b.authorize(.indexesRead))
        }
        await #expect(throws: ConiferError.indexNotFound("shared-name")) { try await catalog.deleteIndex(named: "shared-name", pass: b.authorize(.indexesWrite)) }
        #expect(try await catalog.listIndexes(pass: b.authorize(.indexesRead)).isEmpty)

        _ = try await catalog.createIndex(IndexCreation(name: "shared-name", dimension: 5), pass: b.authorize(.indexesWrite))
        #expect(try await catalog.index(named: "shared-name", pass: a.authorize(.indexesRead)).dimension == 3)
        #expect(try await catalog.index(named: "shared-name", pass: b.authorize(.indexesRead)).dimension == 5)
    }

    @Test(arguments: TestStore.available) func duplicateNamesConflictAndRejectedCreatesStoreNothing(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        _ = try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey)
        let principal = try #require(try await catalog.authenticate(apiKey: bootstrapKey))
        _ = try await catalog.createIndex(IndexCreation(name: "one", dimension: 3), pass: principal.authorize(.indexesWrite))
        await #expect(throws: ConiferError.alreadyExists("Resource one already exists.")) {
            try await catalog.createIndex(IndexCreation(name: "one", dimension: 4), pass: principal.authorize(.indexesWrite))
        }
        await #expect(throws: ConiferError.self) { try await catalog.createIndex(IndexCreation(name: "Bad", dimension: 3), pass: principal.authorize(.indexesWrite)) }
        #expect(try await catalog.listIndexes(pass: principal.authorize(.indexesRead)).map(\.name) == ["one"])
        #expect(try await catalog.index(named: "one", pass: principal.authorize(.indexesRead)).dimension == 3)
    }

    @Test(arguments: TestStore.available) func deletionProtectionBlocksDelete(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        _ = try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey)
        let principal = try #require(try await catalog.authenticate(apiKey: bootstrapKey))
        _ = try await catalog.createIndex(IndexCreation(name: "keep", dimension: 3, deletionProtection: .enabled), pass: principal.authorize(.indexesWrite))
        await #expect(throws: ConiferError.self) { try await catalog.deleteIndex(named: "keep", pass: principal.authorize(.indexesWrite)) }
        _ = try await catalog.configureIndex(named: "keep", IndexConfiguration(deletionProtection: .disabled), pass: principal.authorize(.indexesWrite))
        _ = try await catalog.deleteIndex(named: "keep", pass: principal.authorize(.indexesWrite))
        await #expect(throws: ConiferError.indexNotFound("keep")) { try await catalog.index(named: "keep", pass: principal.authorize(.indexesRead)) }
    }

    @Test(arguments: TestStore.available) func rolesAreEnforcedInsideTheCatalog(_ kind: TestStore) async throws {
        let store = try await kind.make()
        let catalog = CatalogService(store: store)
        let boot = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey))
        let viewerKey = try await store.createAPIKey(projectID: boot.projectID, name: "v", roles: [.controlPlaneViewer])
        let viewer = try #require(try await catalog.authenticate(apiKey: viewerKey.value))
        await #expect(throws: ConiferError.self) { try await catalog.createIndex(IndexCreation(name: "x", dimension: 3), pass: viewer.authorize(.indexesWrite)) }
        #expect(try await catalog.listIndexes(pass: viewer.authorize(.indexesRead)).isEmpty)
    }

    /// A new catalog directory, bootstrapped, with one index created in it (the catalog closed again).
    func catalogDirectory(withIndex creation: IndexCreation) async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-catalog-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let catalog = CatalogService(catalog: try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey))
        _ = try await catalog.bootstrapIfNeeded(apiKeyValue: bootstrapKey)
        let principal = try #require(try await catalog.authenticate(apiKey: bootstrapKey))
        _ = try await catalog.createIndex(creation, pass: principal.authorize(.indexesWrite))
        return directory
    }

    @Test func catalogPersistsAcrossReopen() async throws {
        let directory = try await catalogDirectory(withIndex: IndexCreation(name: "durable", dimension: 7, tags: ["a": "b"]))
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey)
        let reopened = CatalogService(catalog: database)
        #expect(try await reopened.bootstrapIfNeeded(apiKeyValue: nil) == nil)
        let principal = try #require(try await reopened.authenticate(apiKey: bootstrapKey))
        let index = try await reopened.index(named: "durable", pass: principal.authorize(.indexesRead))
        #expect(index.dimension == 7)
        #expect(index.tags == ["a": "b"])
        let stored = try Data(contentsOf: directory.appendingPathComponent("catalog.sqlite"))
        #expect(stored.range(of: Data(bootstrapKey.utf8)) == nil)
    }

    /// Tags written in clear before they were sealed are sealed by the migration, and read back the same.
    @Test func tagsStoredInClearBeforeAreSealedByTheMigration() async throws {
        let directory = try await catalogDirectory(withIndex: IndexCreation(name: "old", dimension: 3, tags: ["x": "y"]))
        defer { try? FileManager.default.removeItem(at: directory) }
        // As a catalog from before the migration holds it.
        let raw = try DatabaseQueue(path: directory.appendingPathComponent("catalog.sqlite").path)
        try await raw.write { db in
            try db.execute(sql: #"UPDATE index_definition SET tags = '{"team":"clear-text-tag"}'"#)
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v13 sealed tags and descriptions'")
        }
        try raw.close()
        let database = try SQLiteCatalog(directory: directory, sealingKey: Self.sealingKey)
        let reopened = CatalogService(catalog: database)
        let principal = try #require(try await reopened.authenticate(apiKey: bootstrapKey))
        #expect(try await reopened.index(named: "old", pass: principal.authorize(.indexesRead)).tags == ["team": "clear-text-tag"])
        let stored = try await database.database.read { db in try Data.fetchOne(db, sql: "SELECT tags FROM index_definition") }
        #expect(stored.map { $0.range(of: Data("clear-text-tag".utf8)) == nil } == true, "sealed now")
    }
}
