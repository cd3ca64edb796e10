import ConiferAudit
import ConiferCore
import Foundation

// The audit log's wire types. Events themselves are `AuditEvent`, which is Pinecone's schema as stored and exported.

/// `PUT` and `PATCH /admin/audit-log`.
struct AuditLogRequestWire: AdminRequestWire {
    static let fields: Set<String> = ["bucket", "region", "role_arn", "external_id", "endpoint_url", "batch_interval_seconds", "paused"]

    var bucket: String?
    var region: String?
    var role_arn: String?
    var external_id: String?
    var endpoint_url: String?
    var batch_interval_seconds: Int?
    var paused: Bool?

    init() {}

    /// The destination these fields describe, the unset ones taken from `defaults` (PATCH) or the standard
    /// sources (region: `AWS_REGION`, then us-east-1). Every field is checked: a bad one is a 400 naming it.
    func destination(defaults: AuditDestination?, environment: [String: String]) throws(ConiferError) -> AuditDestination {
        var destination = defaults ?? AuditDestination(bucket: "", region: "")
        if let bucket {
            let parts = bucket.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            destination.bucket = String(parts[0])
            destination.prefix = parts.count > 1 ? parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "/")) : ""
        }
        guard destination.bucket.wholeMatch(of: /[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/) != nil else {
            throw .invalidArgument("bucket must start with an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens).")
        }
        guard destination.prefix.count <= 512, !destination.prefix.split(separator: "/").contains(".."),
              destination.prefix.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else { throw .invalidArgument("The prefix after the bucket name must be at most 512 printable characters without '..' segments.") }
        destination.region = region ?? (defaults == nil ? AuditDestination.defaultRegion(environment) : destination.region)
        guard destination.region.wholeMatch(of: /[a-z0-9-]{2,32}/) != nil else { throw .invalidArgument("region must be an AWS region such as us-east-1.") }
        if let role_arn {
            guard role_arn.isEmpty || role_arn.wholeMatch(of: /arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_\/-]{1,512}/) != nil else {
                throw .invalidArgument("role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME).")
            }
            destination.roleARN = role_arn.isEmpty ? nil : role_arn
        }
        if let external_id {
            guard external_id.isEmpty || external_id.wholeMatch(of: /[A-Za-z0-9+=,.@:\/_-]{2,1224}/) != nil else {
                throw .invalidArgument("external_id must be 2 to 1224 letters, digits or +=,.@:/_- characters.")
            }
            destination.externalID = external_id.isEmpty ? nil : external_id
        }
        if let endpoint_url {
            if endpoint_url.isEmpty {
                destination.endpointURL = nil
            } else {
                guard let url = URL(string: endpoint_url), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
                      url.query == nil, url.user == nil
                else { throw .invalidArgument("endpoint_url must be an http(s) URL of an S3-compatible endpoint.") }
                destination.endpointURL = endpoint_url
            }
        }
        if let batch_interval_seconds {
            guard (1...86_400).contains(batch_interval_seconds) else { throw .invalidArgument("batch_interval_seconds must be 1 to 86400.") }
            destination.batchIntervalSeconds = batch_interval_seconds
        }
        return destination
    }

    /// What the event records of the call: the destination, not the external id (a shared secret of sorts).
    func parameters(_ destination: AuditDestination) -> [String: JSONValue] {
        var parameters: [String: JSONValue] = [
            "bucket": .string(destination.location), "region": .string(destination.region),
            "batch_interval_seconds": .number(Double(destination.batchIntervalSeconds)),
        ]
        if let role = destination.roleARN { parameters["role_arn"] = .string(role) }
        if let endpoint = destination.endpointURL { parameters["endpoint_url"] = .string(endpoint) }
        if destination.externalID != nil { parameters["external_id_set"] = .bool(true) }
        return parameters
    }
}

/// The export settings and status (`{"enabled": false}` when there is no export).
struct AuditLogWire: Encodable {
    struct Status: Encodable {
        var last_batch_at: Date?
        var last_success_at: Date?
        var last_error: String?
        var last_error_at: Date?
        var pending_batches: Int
        var unbatched_events: Int
    }

    var enabled: Bool
    var state: String?
    var bucket: String?
    var region: String?
    var role_arn: String?
    var external_id: String?
    var endpoint_url: String?
    var batch_interval_seconds: Int?
    var enabled_at: Date?
    var export: Status?

    init(_ export: AuditExport?) {
        enabled = export != nil
        guard let export else { return }
        let destination = export.destination
        state = export.state.rawValue
        bucket = destination.location
        region = destination.region
        role_arn = destination.roleARN
        external_id = destination.externalID
        endpoint_url = destination.endpointURL
        batch_interval_seconds = destination.batchIntervalSeconds
        enabled_at = export.enabledAt
        self.export = Status(
            last_batch_at: export.lastBatchAt, last_success_at: export.lastSuccessAt, last_error: export.lastError,
            last_error_at: export.lastErrorAt, pending_batches: export.pendingBatches, unbatched_events: export.unbatchedEvents
        )
    }
}

/// `GET /admin/audit-events`: newest first.
struct AuditEventsWire: Encodable {
    struct Pagination: Encodable { var next: String }
    var data: [AuditEvent]
    var pagination: Pagination?
}
