@testable import ConiferAccess
import ConiferCore
import Foundation
import GRDB
import Testing
@testable import ConiferAudit

/// An audited call's event is written in the same transaction as its change (the outbox), so the catalog never
/// holds a change without its event or an event of a change that rolled back; the call then settles the row into
/// the log, and what no call settled is recorded once by the drain.
@Suite struct AuditOutboxTests {
    static func draft(_ id: String) -> AuditDraft {
        var event = AuditEventTests.event
        event.id = id
        return AuditDraft(event: event)
    }

    static func outbox(_ catalog: SQLiteCatalog) async throws -> Int {
        try await catalog.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_outbox") ?? -1 }
    }

    static func events(_ catalog: SQLiteCatalog) async throws -> [String] {
        let rows = try catalog.database.read { db in try Row.fetchAll(db, sql: "SELECT body FROM audit_event ORDER BY seq") }
        return try rows.map { row in try JSONDecoder().decode(AuditEvent.self, from: try catalog.sealer.open(row["body"], .auditEvent)).id }
    }

    @Test func aChangeCommitsWithItsEventOrNotAtAll() async throws {
        let catalog = try SQLiteCatalog.inMemory()
        let service = CatalogService(catalog: catalog)
        let boot = try #require(try await service.bootstrapIfNeeded(apiKeyValue: nil))

        // A change stages the call's event once, however many changes the call makes.
        let call = Self.draft("call")
        try await AuditDraft.$current.withValue(call) {
            _ = try await service.setRateLimits(project: boot.projectID, "query=5")
            _ = try await service.setRateLimits(project: boot.projectID, "query=6")
        }
        #expect(call.outboxID != nil)
        #expect(try await Self.outbox(catalog) == 1)
        #expect(try await Self.events(catalog) == [])

        // A change that rolls back stages nothing.
        let refused = Self.draft("refused")
        await #expect(throws: ConiferError.self) {
            try await AuditDraft.$current.withValue(refused) { _ = try await service.setRateLimits(project: UUID(), "query=1") }
        }
        #expect(refused.outboxID == nil)
        #expect(try await Self.outbox(catalog) == 1)

        // An event that cannot be staged takes its change with it.
        try await catalog.database.write { db in
            try db.execute(sql: "CREATE TRIGGER full_disk BEFORE INSERT ON audit_outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        await #expect(throws: (any Error).self) {
            try await AuditDraft.$current.withValue(Self.draft("lost")) { _ = try await service.setRateLimits(project: boot.projectID, "query=7") }
        }
        #expect(try await service.rateLimitSettings(project: boot.projectID).rateLimits == "query=6")
        try await catalog.database.write { db in try db.execute(sql: "DROP TRIGGER full_disk") }

        // The call settles its row into the log with the event as it ended; a second settle finds nothing.
        var ended = call.event
        ended.event.resource_id = .string("as the call ended")
        let staged = try #require(call.outboxID)
        #expect(try await catalog.settle(outbox: staged, with: ended))
        #expect(try await Self.outbox(catalog) == 0)
        #expect(try await Self.events(catalog) == ["call"])
        #expect(try await catalog.settle(outbox: staged, with: ended) == false)
        #expect(try await Self.events(catalog) == ["call"])

        // What no call settled is recorded as staged, once; a call settling it later records nothing more.
        let stopped = Self.draft("stopped")
        try await AuditDraft.$current.withValue(stopped) { _ = try await service.setRateLimits(project: boot.projectID, nil) }
        #expect(try await catalog.drainOutbox(stagedBefore: .distantPast) == 0, "a call in progress keeps its row")
        #expect(try await catalog.drainOutbox(stagedBefore: .distantFuture) == 1)
        #expect(try await catalog.drainOutbox(stagedBefore: .distantFuture) == 0)
        #expect(try await catalog.settle(outbox: try #require(stopped.outboxID), with: stopped.event) == false)
        #expect(try await Self.events(catalog) == ["call", "stopped"])
        #expect(try await catalog.verifyAuditChain() == nil)

        // Work no audited call started stages nothing.
        _ = try await service.setRateLimits(project: boot.projectID, "query=8")
        #expect(try await Self.outbox(catalog) == 0)
    }

    /// Work no request made (an operator's command, the scheduler) is recorded with its change the same way
    /// (`AuditRecorder.record`): one event when it changed something, none when it changed nothing or failed, and
    /// a change whose event the log cannot take at that moment stands, its event staged for the drain.
    @Test func systemWorkIsRecordedWithItsChange() async throws {
        let catalog = try SQLiteCatalog.inMemory()
        let service = CatalogService(catalog: catalog)
        let boot = try #require(try await service.bootstrapIfNeeded(apiKeyValue: nil))
        let recorder = AuditRecorder(spool: catalog, directory: catalog)
        let outcome = ActionOutcome(
            actor: .system(.operatorCommand), action: "conifer org rate-limits", kind: .updateProject, resource: [:], result: .succeeded,
            organizationID: boot.organizationID, details: ActionDetails(resourceID: .string("default"))
        )
        func limit(_ text: String, project: UUID? = nil) -> @Sendable () async throws -> Bool {
            { _ = try await service.setRateLimits(project: project ?? boot.projectID, text); return true }
        }
        #expect(try await recorder.record(outcome, limit("query=1")))
        #expect(try await Self.events(catalog).count == 1)
        #expect(try await recorder.record(outcome) { false } == false)
        await #expect(throws: ConiferError.self) { try await recorder.record(outcome, limit("query=9", project: UUID())) }
        #expect(try await Self.events(catalog).count == 1, "nothing changed, nothing recorded")

        try await catalog.database.write { db in
            try db.execute(sql: "CREATE TRIGGER log_unwritable BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        #expect(try await recorder.record(outcome, limit("query=2")), "the change stands")
        #expect(try await service.rateLimitSettings(project: boot.projectID).rateLimits == "query=2")
        #expect(try await Self.outbox(catalog) == 1)
        try await catalog.database.write { db in try db.execute(sql: "DROP TRIGGER log_unwritable") }
        #expect(try await catalog.drainOutbox(stagedBefore: .distantFuture) == 1)
        #expect(try await Self.events(catalog).count == 2)
        #expect(try await catalog.verifyAuditChain() == nil)
    }
}

