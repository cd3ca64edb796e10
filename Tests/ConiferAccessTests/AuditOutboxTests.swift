@testable import ConiferAccess
import ConiferCore
import Foundation
import Testing
@testable import ConiferAudit

/// An audited call's event is written in the same transaction as its change (the outbox), so the catalog never
/// holds a change without its event or an event of a change that rolled back; the call then settles the row into
/// the log, and what no call settled is recorded once by the drain. On both catalogs.
@Suite struct AuditOutboxTests {
    static func draft(_ id: String) -> AuditDraft {
        var event = AuditChainTests.event
        event.id = id
        return AuditDraft(event: event)
    }

    static func outbox(_ catalog: any SQLCatalog) async throws -> Int {
        try await catalog.readSQL { try $0.value("SELECT COUNT(*) FROM audit_outbox") } ?? -1
    }

    static func events(_ catalog: any SQLCatalog) async throws -> [String] {
        let bodies: [Data] = try await catalog.readSQL { try $0.values("SELECT body FROM audit_event ORDER BY seq") }
        return try bodies.map { try AuditEvent.decode(try catalog.sealer.open($0, .auditEvent)).id }
    }

    @Test(arguments: TestStore.available)
    func aChangeCommitsWithItsEventOrNotAtAll(_ store: TestStore) async throws {
        let catalog = try await store.make()
        let service = CatalogService(store: catalog)
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
        try await store.refuseInserts(into: "audit_outbox", catalog)
        await #expect(throws: (any Error).self) {
            try await AuditDraft.$current.withValue(Self.draft("lost")) { _ = try await service.setRateLimits(project: boot.projectID, "query=7") }
        }
        #expect(try await service.rateLimitSettings(project: boot.projectID).rateLimits == "query=6")
        try await store.allowInserts(into: "audit_outbox", catalog)

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
        #expect(try await catalog.firstChainBreak() == nil)

        // Work no audited call started stages nothing.
        _ = try await service.setRateLimits(project: boot.projectID, "query=8")
        #expect(try await Self.outbox(catalog) == 0)
    }

    /// Work no request made (an operator's command, the scheduler) is recorded with its change the same way
    /// (`AuditRecorder.record`): one event when it changed something, none when it changed nothing or failed, and
    /// a change whose event the log cannot take at that moment stands, its event staged for the drain.
    @Test(arguments: TestStore.available)
    func systemWorkIsRecordedWithItsChange(_ store: TestStore) async throws {
        let catalog = try await store.make()
        let service = CatalogService(store: catalog)
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

        try await store.refuseInserts(into: "audit_event", catalog)
        #expect(try await recorder.record(outcome, limit("query=2")), "the change stands")
        #expect(try await service.rateLimitSettings(project: boot.projectID).rateLimits == "query=2")
        #expect(try await Self.outbox(catalog) == 1)
        try await store.allowInserts(into: "audit_event", catalog)
        #expect(try await catalog.drainOutbox(stagedBefore: .distantFuture) == 1)
        #expect(try await Self.events(catalog).count == 2)
        #expect(try await catalog.firstChainBreak() == nil)
    }
}

