import ConiferCore
import Foundation

/// Which events to read: one organization's, newest first, optionally narrowed.
public struct AuditQuery: Sendable, Equatable {
    public var organizationID: UUID
    public var limit: Int
    /// Only events older than this position (from the previous page's token).
    public var before: Int64?
    public var action: String?
    public var resourceType: String?
    public var principalID: String?
    /// Inclusive bounds on the event time.
    public var since: Date?
    public var until: Date?

    public init(
        organizationID: UUID, limit: Int = 100, before: Int64? = nil, action: String? = nil, resourceType: String? = nil,
        principalID: String? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.organizationID = organizationID
        self.limit = limit
        self.before = before
        self.action = action
        self.resourceType = resourceType
        self.principalID = principalID
        self.since = since
        self.until = until
    }
}

/// A page of events and the position to continue from (nil on the last page).
public struct AuditPage: Sendable {
    public var events: [AuditEvent]
    public var next: Int64?

    public init(events: [AuditEvent], next: Int64?) {
        self.events = events
        self.next = next
    }
}

/// Where an organization's audit log is exported: an S3 bucket (and prefix inside it).
public struct AuditDestination: Codable, Sendable, Equatable {
    public var bucket: String
    /// A prefix inside the bucket without leading or trailing slashes ("" for the bucket's root).
    public var prefix: String
    public var region: String
    public var roleARN: String?
    public var externalID: String?
    /// An S3-compatible endpoint instead of AWS's (MinIO, a local test server).
    public var endpointURL: String?
    public var batchIntervalSeconds: Int

    public init(
        bucket: String, prefix: String = "", region: String, roleARN: String? = nil, externalID: String? = nil,
        endpointURL: String? = nil, batchIntervalSeconds: Int = 1800
    ) {
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.roleARN = roleARN
        self.externalID = externalID
        self.endpointURL = endpointURL
        self.batchIntervalSeconds = batchIntervalSeconds
    }

    /// The region of the standard sources: `AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1.
    public static func defaultRegion(_ environment: [String: String]) -> String {
        environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
    }

    /// `bucket` or `bucket/prefix`, as the settings name it.
    public var location: String { prefix.isEmpty ? bucket : "\(bucket)/\(prefix)" }

    /// The object key of a name under the prefix.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix)/\(name)" }
}

/// One organization's export: where to, whether it runs, and how far it got.
public struct AuditExport: Sendable, Equatable {
    /// An active export batches every event on schedule. A paused or removed one still delivers everything up
    /// to and including the settings change that paused or removed it (so the bucket shows who stopped it);
    /// resuming exports what was recorded meanwhile; a removed one disappears once that change is delivered.
    public enum State: String, Sendable {
        case active
        case paused
        case removing
    }

    public var organizationID: UUID
    public var destination: AuditDestination
    public var state: State
    public var enabledAt: Date
    public var lastBatchAt: Date?
    public var lastSuccessAt: Date?
    public var lastError: String?
    public var lastErrorAt: Date?
    /// Batches cut but not yet delivered.
    public var pendingBatches: Int
    /// Events recorded since the last batch was cut that the next batch will take (for a paused or removed
    /// export, those up to its last settings change).
    public var unbatchedEvents: Int
    /// Whether the latest recorded settings change of the organization is the export's removal (so a removed
    /// export knows its final event exists).
    public var removalRecorded: Bool

    public init(
        organizationID: UUID, destination: AuditDestination, state: State, enabledAt: Date, lastBatchAt: Date? = nil,
        lastSuccessAt: Date? = nil, lastError: String? = nil, lastErrorAt: Date? = nil, pendingBatches: Int = 0, unbatchedEvents: Int = 0,
        removalRecorded: Bool = false
    ) {
        self.organizationID = organizationID
        self.destination = destination
        self.state = state
        self.enabledAt = enabledAt
        self.lastBatchAt = lastBatchAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.pendingBatches = pendingBatches
        self.unbatchedEvents = unbatchedEvents
        self.removalRecorded = removalRecorded
    }

    /// Whether a removed export has delivered its last event and may go.
    public var isFinished: Bool { state == .removing && removalRecorded && unbatchedEvents == 0 && pendingBatches == 0 }
}

/// A batch of events cut for export: its object name (under the destination's prefix) and exact bytes, fixed
/// when cut so that every retry writes the same object.
public struct AuditBatch: Sendable, Equatable {
    public var number: Int
    /// `YYYY/MM/DD/YYYYMMDDTHHMMSSZ-NNNNNN.json`
    public var name: String
    public var body: Data
    public var eventCount: Int

    public init(number: Int, name: String, body: Data, eventCount: Int) {
        self.number = number
        self.name = name
        self.body = body
        self.eventCount = eventCount
    }

    /// The object name of batch `number` cut at `date`: sorted by time, unique by number.
    public static func name(number: Int, at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy/MM/dd/yyyyMMdd'T'HHmmss'Z'"
        return "\(formatter.string(from: date))-\(String(format: "%06d", number)).json"
    }
}

/// The durable store of audit events and export state (the catalog implements it in the same SQLite database,
/// committing each event with a fsync before the call that caused it is answered).
public protocol AuditSpool: Sendable {
    /// Stores the event durably; returns only once it would survive a crash or power loss.
    func append(_ event: AuditEvent) async throws
    /// Replaces the outbox row a change's transaction wrote (`AuditDraft`) with the event as the call ended, in
    /// one transaction; false, recording nothing, when the row is gone (`drainOutbox` recorded it meanwhile).
    func settle(outbox id: Int64, with event: AuditEvent) async throws -> Bool
    /// Records, as they were staged, the outbox rows staged before `date` that no call settled (the server
    /// stopped, or the settle failed, between a change and its answer); returns how many.
    func drainOutbox(stagedBefore date: Date) async throws -> Int
    func events(_ query: AuditQuery) async throws -> AuditPage

    func export(organization: UUID) async throws -> AuditExport?
    func exports() async throws -> [AuditExport]
    /// Starts (or replaces the destination of) an organization's export. A new export starts with the events
    /// recorded after it; a replaced one keeps its position, so nothing is skipped or sent twice.
    func enableExport(organization: UUID, destination: AuditDestination, at date: Date) async throws -> AuditExport
    func setExport(organization: UUID, destination: AuditDestination, state: AuditExport.State) async throws -> AuditExport
    func deleteExport(organization: UUID) async throws

    /// Cuts the events the next batch takes (at most `limit`; see `AuditExport.State`) into a new batch; nil when
    /// there are none.
    func cutBatch(organization: UUID, at date: Date, limit: Int) async throws -> AuditBatch?
    /// Batches cut but not delivered, oldest first.
    func pendingBatches(organization: UUID) async throws -> [AuditBatch]
    func markDelivered(organization: UUID, batch: Int, at date: Date) async throws
    func recordExportFailure(organization: UUID, message: String, at date: Date) async throws

    /// Deletes events (and delivered batches) older than `date`; undelivered batches stay. Returns events deleted.
    func purgeEvents(before date: Date) async throws -> Int
}

/// Names and organizations for events: the catalog answers from its rows.
public protocol AuditDirectory: Sendable {
    /// The first organization, for events no caller's organization can be attributed to (a sign-in with an
    /// unknown name).
    func firstOrganization() async throws -> UUID?
    /// In one read: the organization's name ("" once it is gone) and the actor as the event names it (its id
    /// alone when the principal no longer exists).
    func auditNames(organization: UUID, actor: ActionOutcome.Actor) async throws -> (organization: String, actor: AuditEvent.Actor)
}
