import ConiferAccess
import ConiferAudit
import ConiferCore
import Foundation
import Hummingbird

/// The audit log in the Admin API: the export settings (`/admin/audit-log`, organization owners on the
/// Enterprise plan) and the events themselves (`/admin/audit-events`, organization owners on any plan).
struct AuditController {
    let admin: any AdminCatalog
    let audit: AuditLogService
    let environment: [String: String]

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/audit-log", .organization(.auditLogRead), handler: settings)
        routes.admin(.put, "/admin/audit-log", .organization(.auditLogWrite), handler: enable)
        routes.admin(.patch, "/admin/audit-log", .organization(.auditLogWrite), handler: change)
        routes.admin(.delete, "/admin/audit-log", .organization(.auditLogWrite), handler: remove)
        routes.admin(.get, "/admin/audit-events", .organization(.auditLogRead), handler: events)
    }

    @Sendable func settings(_ call: AdminCall) async throws -> Response {
        let organization = try await enterpriseOrganization(call)
        return try WireJSON.response(status: .ok, AuditLogWire(try await audit.export(organization: organization)))
    }

    @Sendable func enable(_ call: AdminCall) async throws -> Response {
        let organization = try await enterpriseOrganization(call)
        let body = try await call.decode(AuditLogRequestWire.self)
        guard let bucket = body.bucket else { throw ConiferError.invalidArgument("bucket is required.") }
        let destination = try body.destination(bucket: bucket, region: body.region, defaults: nil, environment: environment)
        call.context.audit(id: .string(destination.location), body.parameters(destination))
        let export = try await audit.enable(organization: organization, destination: destination)
        return try WireJSON.response(status: .ok, AuditLogWire(export))
    }

    @Sendable func change(_ call: AdminCall) async throws -> Response {
        let organization = try await enterpriseOrganization(call)
        let body = try await call.decode(AuditLogRequestWire.self)
        guard let current = try await audit.export(organization: organization) else {
            throw ConiferError.notFound("The audit log is not enabled for this organization.")
        }
        let destination = try body.destination(bucket: body.bucket, region: body.region, defaults: current.destination, environment: environment)
        var parameters = body.parameters(destination)
        if let paused = body.paused { parameters["paused"] = .bool(paused) }
        call.context.audit(id: .string(destination.location), parameters)
        let export = try await audit.change(organization: organization, AuditExportChange(destination: destination, paused: body.paused))
        return try WireJSON.response(status: .ok, AuditLogWire(export))
    }

    @Sendable func remove(_ call: AdminCall) async throws -> Response {
        let organization = try await enterpriseOrganization(call)
        if let current = try await audit.export(organization: organization) { call.context.audit(id: .string(current.destination.location)) }
        let left = try await audit.remove(organization: organization)
        return try WireJSON.response(status: .accepted, AuditLogWire(left))
    }

    @Sendable func events(_ call: AdminCall) async throws -> Response {
        let query = call.request.uri.queryParameters
        func text(_ name: String) -> String? { query[Substring(name)].map(String.init) }
        func date(_ name: String) throws(ConiferError) -> Date? {
            guard let raw = text(name) else { return nil }
            guard let date = AuditTime.date(raw) else { throw .invalidArgument("\(name) must be an RFC 3339 time, e.g. 2026-11-22T14:30:00Z.") }
            return date
        }
        let limit = try text("limit").map { (raw) throws(ConiferError) in
            guard let limit = Int(raw), (1...1000).contains(limit) else { throw .invalidArgument("limit must be 1 to 1000.") }
            return limit
        } ?? 100
        let before = try text("paginationToken").map { (raw) throws(ConiferError) in
            guard let position = Int64(raw), position > 0 else { throw .invalidArgument("paginationToken is not one this server gave.") }
            return position
        }
        let page = try await audit.events(AuditQuery(
            organizationID: call.pass.identity.organizationID, limit: limit, before: before, action: text("action"),
            resourceType: text("resource_type"), principalID: text("principal_id"), since: try date("since"), until: try date("until")
        ))
        return try WireJSON.response(status: .ok, AuditEventsWire(data: page.events, pagination: page.next.map { .init(next: String($0)) }))
    }

    /// The caller's organization, when its plan includes audit-log exports (402 otherwise).
    private func enterpriseOrganization(_ call: AdminCall) async throws -> UUID {
        let organization = try await admin.organization(call.pass.identity.organizationID, for: call.pass)
        guard organization.plan == .enterprise else {
            throw ConiferError(.paymentRequired, "Audit log export requires the Enterprise plan.")
        }
        return organization.id
    }
}

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

    /// The destination these fields describe, the unset ones taken from `defaults` (PATCH) or the standard
    /// sources (region: `AWS_REGION`, then us-east-1). Every field is checked: a bad one is a 400 naming it.
    func destination(bucket: String?, region: String?, defaults: AuditDestination?, environment: [String: String]) throws(ConiferError) -> AuditDestination {
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
