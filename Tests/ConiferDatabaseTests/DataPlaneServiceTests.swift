@testable import ConiferAccess
import ConiferCore
import ConiferDatabase
import ConiferKeys
import ConiferStorage
import Foundation
import Logging
import Testing

/// The data-plane and index services without HTTP: a catalog in memory, stores in a temporary directory,
/// passes minted from real principals.
@Suite struct DataPlaneServiceTests {
    /// A bootstrapped catalog, a registry over a fresh directory, and the bootstrap key's principal.
    struct Fixture {
        /// The catalog's database, for the seams that create rows without a caller.
        let sqlite: SQLiteCatalog
        let catalog: CatalogService
        let registry: StoreRegistry
        let principal: Principal
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-services-\(UUID().uuidString)")
        var indexes: IndexService { IndexService(catalog: catalog, registry: registry) }
        var data: DataPlaneService { DataPlaneService(catalog: catalog, registry: registry) }

        init() async throws {
            sqlite = try SQLiteCatalog.inMemory()
            catalog = CatalogService(catalog: sqlite)
            let boot = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: nil))
            principal = try #require(try await catalog.authenticate(apiKey: boot.apiKeyValue))
            registry = StoreRegistry(root: directory, keys: LocalIndexKeys(master: .generate()), logger: Logger(label: "test"))
        }

        func pass(_ permission: Permission) throws -> AuthorizationPass { try principal.authorize(permission) }

        func address(_ name: String) -> DataPlaneService.IndexAddress {
            DataPlaneService.IndexAddress(projectID: principal.projectID.uuidString.lowercased(), name: name)
        }

        /// The index "svc" opened with a pass for `permission`.
        func open(_ permission: Permission) async throws -> DataPlaneService.OpenIndex {
            try await data.open(pass(permission), address("svc"))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func upsertQueryFetchListStatsAndDeleteThroughTheService() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 2, metric: .dotproduct))
        let main = try DataPlaneService.NamespaceName(nil)
        let records = (0..<5).map { VectorRecord(id: "r\($0)", values: [Float($0), 1], metadata: ["even": .bool($0 % 2 == 0)]) }
        #expect(try await f.data.upsert(try await f.open(.dataWrite), namespace: main, records: records) == 5)

        let query = DataPlaneService.Query(
            namespace: try .init("__default__"), topK: 2, vector: [1, 0], sparse: nil, id: nil,
            filter: .field("even", .equal(.bool(true))), includesData: true
        )
        let matches = try await f.data.query(try await f.open(.dataRead), query).matches
        #expect(matches.map(\.record.id) == ["r4", "r2"])
        #expect(matches.map(\.score) == [4, 2])

        #expect(try await f.data.fetch(try await f.open(.dataRead), namespace: main, ids: ["r1", "nope"]).records.map(\.id) == ["r1"])
        let page = try await f.data.list(try await f.open(.dataRead), namespace: main, prefix: "r", limit: 2, after: nil)
        #expect(page.items == ["r0", "r1"])
        #expect(page.nextAfter == "r1")
        #expect(try await f.data.list(try await f.open(.dataRead), namespace: main, prefix: "r", limit: 2, after: "r3").items == ["r4"])

        try await f.data.delete(try await f.open(.dataWrite), namespace: main, .matching(.field("even", .equal(.bool(true)))))
        let stats = try await f.data.statistics(try await f.open(.dataRead), filter: .everything)
        #expect(stats.namespaces == ["": 2])
        #expect(stats.definition.name == "svc")
    }

    @Test func aViewersPassCannotWriteAndAnotherProjectsIndexIsMissing() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 2))
        let main = try DataPlaneService.NamespaceName(nil)
        let record = [VectorRecord(id: "a", values: [1, 0])]
        // Even if a route granted a viewer's read pass to a write, the service refuses it.
        let viewerKey = try await f.sqlite.createAPIKey(projectID: f.principal.projectID, name: "viewer", roles: [.dataPlaneViewer])
        let viewer = try #require(try await f.catalog.authenticate(apiKey: viewerKey.value))
        let denied = await #expect(throws: ConiferError.self) {
            try await f.data.upsert(try await f.data.open(viewer.authorize(.dataRead), f.address("svc")), namespace: main, records: record)
        }
        #expect(denied?.code == .permissionDenied)
        #expect(try await f.data.fetch(try await f.open(.dataRead), namespace: main, ids: ["a"]).records.isEmpty)

        let elsewhere = DataPlaneService.IndexAddress(projectID: UUID().uuidString.lowercased(), name: "svc")
        let hidden = await #expect(throws: ConiferError.self) {
            try await f.data.upsert(try await f.data.open(f.pass(.dataWrite), elsewhere), namespace: main, records: record)
        }
        #expect(hidden?.code == .notFound)
        // The project is named as its index host spells it (lowercase); another spelling is no index either.
        let own = f.principal.projectID.uuidString
        #expect(try await f.data.open(f.pass(.dataRead), DataPlaneService.IndexAddress(projectID: own.lowercased(), name: "svc")).definition.name == "svc")
        let lower = own.lowercased()
        let lastDigitChanged = String(lower.dropLast()) + (lower.hasSuffix("0") ? "1" : "0")
        var characters = Array(lower)
        characters.swapAt(7, 8)  // the first hyphen one place earlier, same length
        let hyphenMoved = String(characters)
        let spellings = [own.uppercased(), lower + " ", "{\(lower)}", "project", "", String(lower.dropLast()), lower.replacingOccurrences(of: "-", with: ""),
                         lastDigitChanged, hyphenMoved]
        for spelling in spellings {
            await #expect(throws: ConiferError.self, "\(spelling)") {
                try await f.data.open(f.pass(.dataRead), DataPlaneService.IndexAddress(projectID: spelling, name: "svc"))
            }
        }
        // A system pass has no project: it never reaches a caller's data.
        await #expect(throws: ConiferError.self) {
            try await f.data.open(.system(.compaction), f.address("svc"))
        }
    }

    @Test func namespacesAndValidationHappenBeforeAnythingIsStored() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 3))
        try await f.data.createNamespace(try await f.open(.dataWrite), name: "made")
        let bad = [VectorRecord(id: "ok", values: [1, 0, 0]), VectorRecord(id: "short", values: [1, 0])]
        await #expect(throws: ConiferError.self) {
            try await f.data.upsert(try await f.open(.dataWrite), namespace: try .init("made"), records: bad)
        }
        #expect(try await f.data.describeNamespace(try await f.open(.dataRead), try .init("made")) == 0)
        let listed = try await f.data.namespaces(try await f.open(.dataRead), prefix: "", limit: 10, after: nil)
        #expect(listed.page.items.map(\.name) == ["made"])
        #expect(listed.total == 1)
        try await f.data.deleteNamespace(try await f.open(.dataWrite), try .init("made"))
        await #expect(throws: ConiferError.self) { try await f.data.describeNamespace(try await f.open(.dataRead), try .init("made")) }

        let deleted = try await f.indexes.delete(f.pass(.indexesWrite), name: "svc")
        #expect(!FileManager.default.fileExists(atPath: f.directory.appendingPathComponent(deleted.id.uuidString.lowercased()).path))
        await #expect(throws: ConiferError.self) { try await f.indexes.describe(f.pass(.indexesRead), name: "svc") }
    }
}
