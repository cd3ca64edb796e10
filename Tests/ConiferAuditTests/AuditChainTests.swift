@testable import ConiferAccess
import ConiferCore
import Foundation
import GRDB
import Testing
@testable import ConiferAudit

/// The audit log's hash chain: someone with write access to the data directory who deletes, rewrites or reorders
/// an event, or removes the newest ones, leaves a break `verifyAuditChain` names; retention's purge does not.
@Suite struct AuditChainTests {
    /// A catalog with `count` events, the i-th created at minute i of a day.
    static func catalog(events count: Int) async throws -> SQLiteCatalog {
        let catalog = try SQLiteCatalog.inMemory()
        for i in 1...count {
            var event = AuditEventTests.event
            event.id = "event-\(i)"
            event.event.time = String(format: "2026-11-22T10:%02d:00.000Z", i)
            try await catalog.append(event)
        }
        return catalog
    }

    @Test func anIntactLogVerifiesAndRetentionKeepsItSo() async throws {
        let catalog = try await Self.catalog(events: 8)
        #expect(try await catalog.verifyAuditChain() == nil)
        #expect(try await catalog.purgeEvents(before: try #require(AuditTime.date("2026-11-22T10:04:00.000Z"))) == 3)
        #expect(try await catalog.verifyAuditChain() == nil, "the anchor moved to the last event removed")
        try await catalog.append(AuditEventTests.event)
        #expect(try await catalog.verifyAuditChain() == nil)
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
        let catalog = try await Self.catalog(events: 8)
        try await catalog.database.write { try $0.execute(sql: tampering) }
        let broken = try #require(try await catalog.verifyAuditChain(), "\(tampering) went unnoticed")
        #expect(broken.seq == seq && broken.reason.contains(reason), "\(tampering): \(broken)")
    }
}
