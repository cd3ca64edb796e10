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
        routes.admin(.put, "/admin/audit-log", .organization(.auditLogWrite), audit: .kind(.enableAuditLog), handler: enable)
        routes.admin(.patch, "/admin/audit-log", .organization(.auditLogWrite), audit: .kind(.updateAuditLog), handler: change)
        routes.admin(.delete, "/admin/audit-log", .organization(.auditLogWrite), audit: .kind(.removeAuditLog), handler: remove)
        routes.admin(.get, "/admin/audit-events", .organization(.auditLogRead), handler: events)
    }

    @Sendable func settings(_ call: AdminCall) async throws -> Response {
        let organization = try await enterpriseOrganization(call.pass)
        return try WireJSON.response(status: .ok, AuditLogWire(try await audit.export(organization: organization)))
    }

    @Sendable func enable(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, AuditLogWire(try await enable(try await call.decode(AuditLogRequestWire.self), call.context, call.pass)))
    }

    /// Starts exporting the organization's audit log (this route and the console's form), named in its audit event.
    func enable(_ body: AuditLogRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> AuditExport {
        let organization = try await enterpriseOrganization(pass)
        guard body.bucket != nil else { throw ConiferError.invalidArgument("bucket is required.") }
        let destination = try body.destination(defaults: nil, environment: environment)
        context.audit(id: .string(destination.location), body.parameters(destination))
        return try await audit.enable(organization: organization, destination: destination)
    }

    @Sendable func change(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, AuditLogWire(try await change(try await call.decode(AuditLogRequestWire.self), call.context, call.pass)))
    }

    /// Changes the export's destination or pauses and resumes it, named in its audit event.
    func change(_ body: AuditLogRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> AuditExport {
        let organization = try await enterpriseOrganization(pass)
        guard let current = try await audit.export(organization: organization) else {
            throw ConiferError.notFound("The audit log is not enabled for this organization.")
        }
        let destination = try body.destination(defaults: current.destination, environment: environment)
        var parameters = body.parameters(destination)
        if let paused = body.paused { parameters["paused"] = .bool(paused) }
        context.audit(id: .string(destination.location), parameters)
        return try await audit.change(organization: organization, AuditExportChange(destination: destination, paused: body.paused))
    }

    @Sendable func remove(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .accepted, AuditLogWire(try await remove(call.context, call.pass)))
    }

    /// Removes the export (after it delivered what is pending), named in its audit event.
    func remove(_ context: ConiferRequestContext, _ pass: AdminPass) async throws -> AuditExport? {
        let organization = try await enterpriseOrganization(pass)
        if let current = try await audit.export(organization: organization) { context.audit(id: .string(current.destination.location)) }
        return try await audit.remove(organization: organization)
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
    func enterpriseOrganization(_ pass: AdminPass) async throws -> UUID {
        let organization = try await admin.organization(pass.identity.organizationID, for: pass)
        guard organization.plan == .enterprise else {
            throw ConiferError(.paymentRequired, "Audit log export requires the Enterprise plan.")
        }
        return organization.id
    }
}
