@testable import ConiferAccess
import ConiferCore
import ConiferDatabase
import ConiferKeys
import ConiferStorage
import Foundation
import Logging
import Synchronization
import Testing

/// The usage ledger (units per index per hour, in the catalog) and the quotas the data plane enforces: the
/// Starter plan's monthly read and write units, and namespaces per index.
@Suite struct UsageAndQuotaTests {
    typealias Fixture = DataPlaneServiceTests.Fixture

    /// A clock the test moves.
    final class Clock: Sendable {
        let time: Mutex<Date>
        init(_ text: String) { time = Mutex(ISO8601DateFormatter().date(from: text)!) }
        var now: @Sendable () -> Date { { [self] in time.withLock { $0 } } }
        func set(_ text: String) { time.withLock { $0 = ISO8601DateFormatter().date(from: text)! } }
    }

    static let main = try! DataPlaneService.NamespaceName(nil)

    static func query(_ namespace: String? = nil) -> DataPlaneService.Query {
        DataPlaneService.Query(namespace: try! .init(namespace), topK: 1, vector: [1, 0], sparse: nil, id: nil, filter: .everything, includesData: false)
    }

    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Units go to the hour they were used in, per index; a second flush in the same hour adds to it; the rows
    /// outlive the index.
    @Test func unitsAreRecordedPerIndexPerHourAndOutliveTheIndex() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        let clock = Clock("2026-03-10T08:15:00Z")
        let usage = try await UsageMeter.load(catalog: f.catalog, now: clock.now)
        let data = DataPlaneService(catalog: f.catalog, registry: f.registry, usage: usage)
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 2))
        _ = try await data.upsert(try await data.open(f.pass(.dataWrite), f.address("svc")), namespace: Self.main, records: [VectorRecord(id: "a", values: [1, 0])])
        _ = try await data.query(try await data.open(f.pass(.dataRead), f.address("svc")), Self.query())
        try await usage.flush()
        _ = try await data.fetch(try await data.open(f.pass(.dataRead), f.address("svc")), namespace: Self.main, ids: ["a"])
        try await usage.flush()
        clock.set("2026-03-10T09:00:01Z")
        _ = try await data.list(try await data.open(f.pass(.dataRead), f.address("svc")), namespace: Self.main, prefix: "", limit: 10, after: nil)
        _ = try await f.indexes.delete(f.pass(.indexesWrite), name: "svc")
        try await usage.flush()

        let organization = f.principal.organizationID
        let entries = try await f.catalog.usage(organization: organization, from: Self.date("2026-03-01T00:00:00Z"), to: Self.date("2026-04-01T00:00:00Z"))
        #expect(entries.map(\.hour) == [Self.date("2026-03-10T08:00:00Z"), Self.date("2026-03-10T08:00:00Z"), Self.date("2026-03-10T09:00:00Z")])
        #expect(entries.map(\.resourceName) == ["svc", "svc", "svc"])
        #expect(entries.allSatisfy { $0.projectID == f.principal.projectID && $0.region == "us-east-1" })
        // 8h: upsert 5 WU (the minimum), query 0.25 RU (the minimum), fetch 1 RU; 9h: list 1 RU (no write units: no row).
        #expect(entries.map(\.sku) == [.readUnits, .writeUnits, .readUnits])
        #expect(entries.map(\.quantity) == [1.25, 5, 1])
        #expect(try await f.catalog.usageTotals(since: Self.date("2026-03-01T00:00:00Z"))[organization] == UnitTotals(read: 2.25, write: 5))
        #expect(try await f.catalog.usageTotals(since: Self.date("2026-03-10T09:00:00Z"))[organization] == UnitTotals(read: 1, write: 0))
        #expect(usage.monthToDate(organization: organization) == UnitTotals(read: 2.25, write: 5))
    }

    /// Starter organizations stop reading at 1,000,000 read units a month and writing at 2,000,000 write units
    /// (403 QUOTA_EXCEEDED naming the quota), counting what the ledger held before the meter was made; the
    /// other kind goes on; a new month starts over; other plans have no such quota.
    @Test func starterMonthlyUnitsAreAQuota() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 2))
        let admin = AdminService(catalog: f.sqlite)
        _ = try await admin.setPlan(.starter, organization: nil)
        let organization = f.principal.organizationID
        let earlier = UUID()
        func used(_ hour: String, read: Double, write: Double) -> [UsageEntry] {
            [(UsageSKU.readUnits, read), (.writeUnits, write)].map { sku, quantity in
                UsageEntry(
                    organizationID: organization, projectID: f.principal.projectID, resourceID: earlier, resourceName: "earlier", region: "us-east-1",
                    sku: sku, hour: Self.date(hour), quantity: quantity
                )
            }
        }
        // Earlier this month, close to both limits; last month far over them (does not count).
        try await f.catalog.recordUsage(
            used("2026-03-02T10:00:00Z", read: 999_999.9, write: 1_999_999) + used("2026-02-27T10:00:00Z", read: 5_000_000, write: 5_000_000)
        )
        let clock = Clock("2026-03-31T23:00:00Z")
        let usage = try await UsageMeter.load(catalog: f.catalog, now: clock.now)
        let data = DataPlaneService(catalog: f.catalog, registry: f.registry, usage: usage)
        func index(_ permission: Permission) async throws -> DataPlaneService.OpenIndex { try await data.open(f.pass(permission), f.address("svc")) }
        func refusal(_ operation: () async throws -> Void) async -> ConiferError? {
            await #expect(throws: ConiferError.self) { try await operation() }
        }
        let record = [VectorRecord(id: "a", values: [1, 0])]

        // Under both limits: one query (0.25 RU) and one upsert (5 WU) pass and cross them.
        _ = try await data.query(try await index(.dataRead), Self.query())
        _ = try await data.upsert(try await index(.dataWrite), namespace: Self.main, records: record)
        let reads: [() async throws -> Void] = [
            { _ = try await data.query(try await index(.dataRead), Self.query()) },
            { _ = try await data.fetch(try await index(.dataRead), namespace: Self.main, ids: ["a"]) },
            { _ = try await data.list(try await index(.dataRead), namespace: Self.main, prefix: "", limit: 10, after: nil) },
        ]
        let writes: [() async throws -> Void] = [
            { _ = try await data.upsert(try await index(.dataWrite), namespace: Self.main, records: record) },
            { _ = try await data.update(try await index(.dataWrite), namespace: Self.main, .byID(id: "a", values: [0, 1], sparse: nil, setMetadata: nil)) },
            { try await data.delete(try await index(.dataWrite), namespace: Self.main, .ids(["a"])) },
        ]
        for operation in reads {
            let error = await refusal(operation)
            #expect(error?.code == .quotaExceeded && error?.message.contains("1000000 read units") == true, "\(String(describing: error))")
        }
        for operation in writes {
            let error = await refusal(operation)
            #expect(error?.code == .quotaExceeded && error?.message.contains("2000000 write units") == true, "\(String(describing: error))")
        }
        // Nothing refused was stored or charged.
        #expect(try await data.statistics(try await index(.dataRead), filter: .everything).namespaces == ["": 1])
        let month = usage.monthToDate(organization: organization)
        #expect(abs(month.read - 1_000_000.15) < 1e-6 && month.write == 2_000_004, "\(month)")

        // Another plan: no monthly quota.
        _ = try await admin.setPlan(.standard, organization: nil)
        for operation in reads + writes { try await operation() }
        _ = try await admin.setPlan(.starter, organization: nil)
        #expect(await refusal(reads[0])?.code == .quotaExceeded)

        // April: the quota starts over.
        clock.set("2026-04-01T00:00:00Z")
        for operation in reads + writes.prefix(1) { try await operation() }
        #expect(usage.monthToDate(organization: organization).write == 5)
    }

    /// Namespaces per index by plan (Starter 100): a write that would make one more is refused with 403
    /// QUOTA_EXCEEDED and stores nothing; writes into existing namespaces go on; deleting one makes room;
    /// concurrent writes cannot pass the limit together.
    @Test func namespacesPerIndexFollowThePlansQuota() async throws {
        let f = try await Fixture()
        defer { f.remove() }
        _ = try await f.indexes.create(f.pass(.indexesWrite), IndexCreation(name: "svc", dimension: 2))
        _ = try await AdminService(catalog: f.sqlite).setPlan(.starter, organization: nil)
        let data = f.data
        func index() async throws -> DataPlaneService.OpenIndex { try await data.open(f.pass(.dataWrite), f.address("svc")) }
        func upsert(_ namespace: String) async throws {
            _ = try await data.upsert(try await index(), namespace: try .init(namespace), records: [VectorRecord(id: "a", values: [1, 0])])
        }
        for i in 0..<97 { try await upsert("ns-\(i)") }
        try await data.createNamespace(try await index(), name: "made")  // 98
        // Five at once for the last two places: exactly two get in.
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<5 { group.addTask { (try? await upsert("race-\(i)")) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 2)
        let stats = { try await data.statistics(try await index(), filter: .everything).namespaces }
        #expect(try await stats().count == 100)

        let overUpsert = await #expect(throws: ConiferError.self) { try await upsert("one-too-many") }
        #expect(overUpsert?.code == .quotaExceeded && overUpsert?.message.contains("100 namespaces") == true)
        let overCreate = await #expect(throws: ConiferError.self) { try await data.createNamespace(try await index(), name: "another") }
        #expect(overCreate?.code == .quotaExceeded)
        try await upsert("ns-0")  // an existing namespace
        #expect(try await stats().count == 100)
        #expect(try await stats()["one-too-many"] == nil)

        try await data.deleteNamespace(try await index(), try .init("ns-1"))
        try await upsert("one-too-many")
        #expect(try await stats().count == 100)

        // Other plans: 100,000.
        _ = try await AdminService(catalog: f.sqlite).setPlan(.standard, organization: nil)
        try await upsert("standard")
        #expect(try await stats().count == 101)
    }
}
