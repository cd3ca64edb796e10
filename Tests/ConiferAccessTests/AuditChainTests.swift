@testable import ConiferAccess
import ConiferCore
import Foundation
import Testing
@testable import ConiferAudit

/// The audit log's hash chain: someone with write access to the data directory who deletes, rewrites or reorders
/// an event, or removes the newest ones, leaves a break `verifyAuditChain` names; retention's purge does not. On
/// both catalogs, and on PostgreSQL with two servers appending at once.
@Suite struct AuditChainTests {
    static let event = AuditEvent(
        id: "event", organization_id: "org", organization_name: "acme", client: .init(userAgent: "test"),
        actor: .init(principal_id: "k", principal_name: "key", principal_type: "api_key"),
        event: .init(time: "2026-11-22T14:30:00.123Z", action: "create", resource_type: "index", resource_id: .string("movies"),
                     resource_name: nil, outcome: .init(result: "success"), parameters: [:])
    )

    /// A catalog with `count` events, the i-th created at minute i of a day.
    static func catalog(_ store: TestStore, events count: Int) async throws -> any SQLCatalog {
        let catalog = try await store.make()
        for i in 1...count {
            var event = Self.event
            event.id = "event-\(i)"
            event.event.time = String(format: "2026-11-22T10:%02d:00.000Z", i)
            try await catalog.append(event)
        }
        return catalog
    }

    @Test(arguments: TestStore.available)
    func anIntactLogVerifiesAndRetentionKeepsItSo(_ store: TestStore) async throws {
        let catalog = try await Self.catalog(store, events: 8)
        #expect(try await catalog.firstChainBreak() == nil)
        #expect(try await catalog.purgeEvents(before: try #require(AuditTime.date("2026-11-22T10:04:00.000Z"))) == 3)
        #expect(try await catalog.firstChainBreak() == nil, "the anchor moved to the last event removed")
        try await catalog.append(Self.event)
        #expect(try await catalog.firstChainBreak() == nil)
    }

    @Test(arguments: [
        ("UPDATE audit_event SET action = 'delete' WHERE seq = 4", 4, "altered"),
        ("UPDATE audit_event SET resource_type = 'project' WHERE seq = 2", 2, "altered"),
        ("UPDATE audit_event SET body = (SELECT body FROM audit_event WHERE seq = 6) WHERE seq = 5", 5, "altered"),
        ("DELETE FROM audit_event WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_event WHERE seq >= 7", 7, "missing"),
        ("DELETE FROM audit_event WHERE seq <= 2", 1, "missing"),
        ("UPDATE audit_chain SET head_seq = 6", 6, "altered"),
        ("UPDATE audit_event SET seq = seq + 100 WHERE seq = 8", 8, "missing"),
    ])
    func eachTamperingIsReportedAtItsEvent(_ tampering: String, _ seq: Int64, _ reason: String) async throws {
        for store in TestStore.available {
            let catalog = try await Self.catalog(store, events: 8)
            try await catalog.writeSQL { try $0.execute(tampering) }
            let broken = try #require(try await catalog.firstChainBreak(), "\(store): \(tampering) went unnoticed")
            #expect(broken.seq == seq && broken.reason.contains(reason), "\(store): \(tampering): \(broken)")
        }
    }

    /// Two servers on one PostgreSQL catalog appending at once: every event lands once, in one sequence, and the
    /// chain holds.
    @Test(.enabled(if: PostgresTestDatabase.enabled)) func twoServersAppendToOneChain() async throws {
        let location = try await PostgresTestDatabase.fresh()
        let a = try await PostgresCatalog.open(location, poolSize: 3, master: PostgresTestDatabase.master)
        let b = try await PostgresCatalog.open(location, poolSize: 3, master: PostgresTestDatabase.master)
        defer { a.close(); b.close() }
        let organization = UUID()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    var event = Self.event
                    event.id = "event-\(i)"
                    event.organization_id = organization.lowercasedString
                    try await (i % 2 == 0 ? a : b).append(event)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await a.verifyAuditChain() == nil)
        let seqs: [Int64] = try await b.readSQL { try $0.values("SELECT seq FROM audit_event ORDER BY seq") }
        #expect(seqs == Array(1...40))
        let page = try await a.events(AuditQuery(organizationID: organization, limit: 100))
        #expect(Set(page.events.map(\.id)) == Set((0..<40).map { "event-\($0)" }))
    }
}
