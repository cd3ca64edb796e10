import ConiferAccess
import ConiferAudit
import ConiferCore
import Foundation
import Hummingbird

/// The console's audit-log page (organization owners): the newest events, and the export to an S3 bucket (Enterprise
/// plan) with its delivery status — enable, pause or resume, remove — through the audit routes' own operations, so the
/// operator's rules on destinations apply as they do to the Admin API.
extension ConsoleController {
    func registerAuditPages(in routes: RouteTable) {
        routes.console(.get, "/console/audit-log", .organization(.auditLogRead), handler: auditPage)
        routes.console(.post, "/console/audit-log", .organization(.auditLogWrite), audit: .kind(.enableAuditLog), handler: enableAuditExport)
        routes.console(.post, "/console/audit-log/pause", .organization(.auditLogWrite), audit: .kind(.updateAuditLog), handler: pauseAuditExport)
        routes.console(.post, "/console/audit-log/delete", .organization(.auditLogWrite), audit: .kind(.removeAuditLog), handler: removeAuditExport)
    }

    @Sendable func auditPage(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Audit log", current: "Audit")
        let organization = try await admin.organization(call.pass.identity.organizationID, for: call.pass)
        values["enterprise"] = organization.plan == .enterprise
        if organization.plan == .enterprise, let export = try await auditLog.audit.export(organization: organization.id) {
            var status: [String: Any] = [
                "location": export.destination.location, "region": export.destination.region, "state": export.state.rawValue,
                "paused": export.state == .paused, "pending": export.pendingBatches, "enabled": ConsolePages.date(export.enabledAt),
                // Every value the section prints is set: a missing one would be looked up in the page's outer values.
                "roleARN": export.destination.roleARN ?? "—", "lastSuccess": export.lastSuccessAt.map(ConsolePages.date) ?? "—",
            ]
            if let error = export.lastError { status["lastError"] = error }
            values["export"] = status
        }
        values["canWrite"] = call.pass.identity.organizationPermissions.contains(.auditLogWrite)
        let page = try await auditLog.audit.events(AuditQuery(organizationID: organization.id, limit: 25))
        values["events"] = page.events.map { event -> [String: Any] in
            let resource: String = switch event.event.resource_id {
            case .string(let text): text
            default: event.event.resource_name ?? ""
            }
            return [
                "time": event.event.time, "actor": event.actor.display_name ?? event.actor.principal_name, "action": event.event.action,
                "resourceType": event.event.resource_type, "resource": resource, "result": event.event.outcome.result,
            ]
        }
        return ConsolePages.page("audit", values)
    }

    @Sendable func enableAuditExport(_ call: ConsoleCall) async throws -> Response {
        func optional(_ name: String) -> String? { call.field(name).isEmpty ? nil : call.field(name) }
        var body = AuditLogRequestWire()
        body.bucket = call.field("bucket")
        body.region = optional("region")
        body.role_arn = optional("role_arn")
        body.external_id = optional("external_id")
        body.endpoint_url = optional("endpoint_url")
        if let interval = optional("batch_interval_seconds") {
            guard let seconds = Int(interval) else { throw ConiferError.invalidArgument("The seconds between batches must be a whole number.") }
            body.batch_interval_seconds = seconds
        }
        _ = try await auditLog.enable(body, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/audit-log")
    }

    /// Pauses the export, or resumes it (the form's `paused`).
    @Sendable func pauseAuditExport(_ call: ConsoleCall) async throws -> Response {
        var body = AuditLogRequestWire()
        body.paused = call.form["paused"] == "true"
        _ = try await auditLog.change(body, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/audit-log")
    }

    @Sendable func removeAuditExport(_ call: ConsoleCall) async throws -> Response {
        _ = try await auditLog.remove(call.context, call.pass)
        return ConsolePages.redirect(to: "/console/audit-log")
    }
}
