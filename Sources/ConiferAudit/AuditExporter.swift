import ConiferAWS
import ConiferCore
import Foundation

/// Writes one object to an audit destination.
public protocol AuditUploader: Sendable {
    func put(_ body: Data, key: String, to destination: AuditDestination) async throws
}

/// Delivers each organization's audit events to its destination: every `batchIntervalSeconds` the events
/// recorded since the last batch become one batch (a JSON array, at most `maxBatchEvents`), whose name and
/// bytes are fixed in the spool when cut; pending batches are written in order and marked delivered only
/// after S3 accepted them. A failed delivery is retried with exponential backoff (1 s doubling to 5 min);
/// the backlog survives restarts because it is in the spool. Retries rewrite the same object with the same
/// bytes, so a batch is never duplicated under another name and no event is skipped.
public actor AuditExporter {
    public static let accessTestObject = "audit-log-access-test"
    public static let maxBatchEvents = 10_000

    let spool: any AuditSpool
    let uploader: any AuditUploader
    let clock: @Sendable () -> Date
    /// Per organization: when the next delivery may be tried after a failure, and the delay that led there.
    private var backoff: [UUID: (next: Date, delay: TimeInterval)] = [:]

    public init(spool: any AuditSpool, uploader: any AuditUploader, clock: @escaping @Sendable () -> Date = Date.init) {
        self.spool = spool
        self.uploader = uploader
        self.clock = clock
    }

    /// One pass over every export: cuts the batches that are due, delivers what is pending (unless backing off).
    public func tick() async {
        guard let exports = try? await spool.exports() else { return }
        let now = clock()
        for export in exports {
            let due = (export.lastBatchAt ?? export.enabledAt).addingTimeInterval(TimeInterval(export.destination.batchIntervalSeconds)) <= now
            var cut = false
            // A paused or removed export's last events go at once, not at the next interval.
            if export.unbatchedEvents > 0, due || export.state != .active {
                cut = (try? await cutAll(export.organizationID, at: now)) != nil
            }
            guard export.pendingBatches > 0 || cut || export.state == .removing else { continue }
            if let retry = backoff[export.organizationID], retry.next > now { continue }
            await deliver(export)
        }
    }

    /// Cuts everything recorded so far and tries to deliver it now, whatever the schedule or backoff (before a
    /// pause or a removal). Returns whether the backlog is empty afterwards.
    @discardableResult
    public func flush(organization: UUID) async throws -> Bool {
        try await cutAll(organization, at: clock())
        guard let export = try await spool.export(organization: organization) else { return true }
        return await deliver(export)
    }

    /// Writes the access-test object, proving the destination accepts Conifer's writes.
    public func testAccess(_ destination: AuditDestination) async throws {
        let body = Data(#"{"conifer":"audit-log-access-test"}"#.utf8)
        try await uploader.put(body, key: destination.key(Self.accessTestObject), to: destination)
    }

    private func cutAll(_ organization: UUID, at date: Date) async throws {
        while let batch = try await spool.cutBatch(organization: organization, at: date, limit: Self.maxBatchEvents),
              batch.eventCount == Self.maxBatchEvents {}
    }

    /// Delivers the pending batches in order; a removed export that has delivered its removal disappears.
    /// Returns whether nothing is pending.
    @discardableResult
    private func deliver(_ export: AuditExport) async -> Bool {
        let organization = export.organizationID
        do {
            for batch in try await spool.pendingBatches(organization: organization) {
                try await uploader.put(batch.body, key: export.destination.key(batch.name), to: export.destination)
                try await spool.markDelivered(organization: organization, batch: batch.number, at: clock())
            }
            backoff[organization] = nil
            if export.state == .removing, try await spool.export(organization: organization)?.isFinished == true {
                try await spool.deleteExport(organization: organization)
            }
            return true
        } catch {
            let delay = min((backoff[organization]?.delay ?? 0.5) * 2, 300)
            backoff[organization] = (clock().addingTimeInterval(delay), delay)
            try? await spool.recordExportFailure(organization: organization, message: String(describing: error).prefix(1000).description, at: clock())
            return false
        }
    }
}

/// Writes audit objects to S3 (or an S3-compatible endpoint the operator allows) through the destination's role,
/// assumed with Conifer's AWS credentials (`AWSSessions`), or with those credentials themselves for a bucket the
/// operator allows that for. The policy is checked again before every write, so an export enabled under a wider
/// policy stops at the next batch once the operator narrows it.
public struct S3AuditUploader: AuditUploader {
    let sessions: AWSSessions
    let policy: AuditDestinationPolicy

    public init(sessions: AWSSessions = AWSSessions(), policy: AuditDestinationPolicy) {
        self.sessions = sessions
        self.policy = policy
    }

    public func put(_ body: Data, key: String, to destination: AuditDestination) async throws {
        try policy.check(destination)
        let credentials = try await sessions.credentials(
            role: destination.roleARN, externalID: destination.externalID, region: destination.region, sessionName: "conifer-audit-log",
            stsEndpoint: destination.endpointURL
        )
        let s3 = S3Client(region: destination.region, endpoint: sessions.endpoint("s3", configured: destination.endpointURL), transport: sessions.transport)
        try await s3.putObject(bucket: destination.bucket, key: key, body: body, contentType: "application/json", credentials: credentials)
    }
}
