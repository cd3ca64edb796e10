@testable import ConiferAccess
import ConiferCore
import Foundation
import Testing
@testable import ConiferAudit

@Suite struct AuditEventTests {
    static let event = AuditEvent(
        id: "3c6ae1a4-0000-4000-8000-000000000001", organization_id: "org", organization_name: "acme",
        client: .init(userAgent: "curl/8"), actor: .init(principal_id: "k", principal_name: "key", principal_type: "api_key"),
        event: .init(
            time: "2026-11-22T14:30:00.123Z", action: "create", resource_type: "index", resource_id: .string("movies"),
            resource_name: nil, outcome: .init(result: "success"), parameters: [:]
        )
    )

    @Test func eventsHaveExactlyPineconesFieldsAndOmitWhatDoesNotApply() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Self.event.encoded()) as? [String: Any])
        #expect(Set(object.keys) == ["id", "organization_id", "organization_name", "client", "actor", "event"])
        #expect((object["client"] as? [String: Any])?["userAgent"] as? String == "curl/8")
        #expect(Set((object["actor"] as? [String: Any] ?? [:]).keys) == ["principal_id", "principal_name", "principal_type"], "display_name only for users")
        let event = try #require(object["event"] as? [String: Any])
        #expect(Set(event.keys) == ["time", "action", "resource_type", "resource_id", "outcome", "parameters"])
        #expect(Set((event["outcome"] as? [String: Any] ?? [:]).keys) == ["result"], "reason and error_code only on failure")
        #expect(try AuditEvent.decode(Self.event.encoded()) == Self.event)
        #expect(try Self.event.encoded() == Self.event.encoded(), "the same event always has the same bytes")
    }

    @Test func timesAreRFC3339WithMillisecondsInUTC() {
        let date = Date(timeIntervalSince1970: 1_795_350_600.25)
        let text = AuditTime.string(date)
        #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(text)")
        #expect(AuditTime.date(text).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
        #expect(AuditTime.date("2026-11-22T14:30:00Z") != nil)
        #expect(AuditTime.date("yesterday") == nil)
    }

    @Test func batchNamesSortByTimeAndAreUniqueByNumber() {
        let date = Date(timeIntervalSince1970: 1_795_350_600)  // 2026-11-22T12:30:00Z
        #expect(AuditBatch.name(number: 7, at: date) == "2026/11/22/20261122T123000Z-000007.json")
        #expect(AuditDestination(bucket: "b", prefix: "tenant/a", region: "us-east-1").key("x.json") == "tenant/a/x.json")
        #expect(AuditDestination(bucket: "b", region: "us-east-1").key("x.json") == "x.json")
    }

    @Test func theCatalogueNamesEachKindOnce() {
        let names = AuditKind.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(AuditKind.all).count == AuditKind.all.count)
    }

    /// Fails every write while `down`, and keeps what it was given.
    actor FlakyUploader: AuditUploader {
        var down = false
        var attempts = 0
        var objects: [String: Data] = [:]
        func set(down: Bool) { self.down = down }
        func put(_ body: Data, key: String, to destination: AuditDestination) throws {
            attempts += 1
            if down { throw AWSTestOutage() }
            objects[key] = body
        }
    }

    struct AWSTestOutage: Error {}

    /// A clock the test moves.
    final class TestClock: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Date(timeIntervalSince1970: 1_795_350_600)
        var now: Date { lock.withLock { value } }
        func advance(_ seconds: TimeInterval) { lock.withLock { value += seconds } }
    }

    @Test func batchesAreCutOnScheduleRetriedWithBackoffUnderTheSameNameAndNeverDuplicated() async throws {
        let catalog = try SQLiteCatalog.inMemory()
        let organization = UUID()
        let clock = TestClock()
        let uploader = FlakyUploader()
        let exporter = AuditExporter(spool: catalog, uploader: uploader, clock: { clock.now })
        func record(_ n: Int, action: String = "create", type: String = "index") async throws {
            var event = Self.event
            event.id = "event-\(n)"
            event.organization_id = organization.lowercasedString
            event.event.action = action
            event.event.resource_type = type
            try await catalog.append(event)
        }
        try await record(0)  // before the export: never exported
        _ = try await catalog.enableExport(
            organization: organization, destination: AuditDestination(bucket: "b", prefix: "p", region: "us-east-1", batchIntervalSeconds: 60), at: clock.now
        )
        for n in 1...3 { try await record(n) }
        await exporter.tick()
        #expect(await uploader.attempts == 0, "not due before the interval")
        clock.advance(60)
        await uploader.set(down: true)
        await exporter.tick()
        #expect(await uploader.attempts == 1)
        var export = try #require(try await catalog.export(organization: organization))
        #expect(export.pendingBatches == 1 && export.unbatchedEvents == 0 && export.lastError != nil)
        await exporter.tick()
        #expect(await uploader.attempts == 1, "backing off")
        clock.advance(1.1)
        await exporter.tick()
        #expect(await uploader.attempts == 2, "retried after the first delay")
        clock.advance(1.1)
        await exporter.tick()
        #expect(await uploader.attempts == 2, "the delay doubled")
        try await record(4)
        await uploader.set(down: false)
        clock.advance(60)
        await exporter.tick()
        let objects = await uploader.objects
        #expect(objects.keys.sorted() == ["p/2026/11/22/20261122T123100Z-000001.json", "p/2026/11/22/20261122T123202Z-000002.json"])
        let exported = try objects.values.flatMap { try JSONDecoder().decode([AuditEvent].self, from: $0) }.map(\.id).sorted()
        #expect(exported == ["event-1", "event-2", "event-3", "event-4"])
        export = try #require(try await catalog.export(organization: organization))
        #expect(export.pendingBatches == 0 && export.unbatchedEvents == 0 && export.lastSuccessAt != nil)

        // Removal delivers what is pending at once, what was recorded while paused included; the export stays
        // until the removal's own event is delivered too, and events after it are not exported. Enabling again
        // never reuses a batch name.
        let policy = try AuditDestinationPolicy(allowedEndpoints: [], serverCredentialBuckets: ["b"])
        let service = AuditLogService(spool: catalog, exporter: exporter, policy: policy, clock: { clock.now })
        _ = try await service.change(organization: organization, AuditExportChange(destination: export.destination, paused: true))
        try await record(5)
        #expect(try await service.remove(organization: organization)?.state == .removing)
        #expect(await uploader.objects.count == 3)
        await exporter.tick()
        #expect(try await catalog.export(organization: organization) != nil, "not gone before its removal event exists")
        try await record(6, action: "delete", type: "audit-log")
        try await record(7)
        await exporter.tick()
        #expect(try await catalog.export(organization: organization) == nil)
        let last = try #require(await uploader.objects["p/2026/11/22/20261122T123202Z-000004.json"])
        #expect(try JSONDecoder().decode([AuditEvent].self, from: last).map(\.id) == ["event-6"])
        _ = try await catalog.enableExport(organization: organization, destination: export.destination, at: clock.now)
        try await record(8)
        #expect(try await catalog.cutBatch(organization: organization, at: clock.now, limit: 10)?.number == 5)
    }
}
