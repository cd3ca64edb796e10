import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The console's billing page (organization owners and billing admins): usage and cost of the last 30 days by SKU at
/// the plan's prices, spend alerts and the spike alert (create, enable or disable, change the amount, delete), and
/// the billing contact. Forms call the spend-alert routes' own operations and the admin service.
extension ConsoleController {
    func registerBillingPages(in routes: RouteTable) {
        routes.console(.get, "/console/billing", .organization(.billingRead), handler: billingPage)
        routes.console(.post, "/console/billing", .organization(.billingWrite), audit: .kind(.updateBillingDetails), handler: updateBillingContact)
        routes.console(.post, "/console/spend-alerts", .organization(.billingWrite), audit: .kind(.createSpendAlert), handler: createSpendAlert)
        routes.console(.post, "/console/spend-alerts/:alert_id", .organization(.billingWrite), audit: .kind(.updateSpendAlert), handler: updateSpendAlert)
        routes.console(.post, "/console/spend-alerts/:alert_id/delete", .organization(.billingWrite), audit: .kind(.deleteSpendAlert), handler: deleteSpendAlert)
    }

    @Sendable func billingPage(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Usage and billing", current: "Billing")
        let organization = call.pass.identity.organizationID
        let query = try UsageController.query({ _ in nil }, now: Date())
        let usage = try await admin.usage(organization: organization, from: query.start, to: query.end, for: call.pass)
        let report = UsageReport(lines: usage.lines, plan: usage.organization.plan, prices: prices, filter: query.filter, start: query.start, end: query.end)
        values["usage"] = [
            "from": ConsolePages.date(query.start), "to": ConsolePages.date(query.end), "total": String(format: "%.2f", report.totalCost),
            "rows": report.groups(by: .sku).map { group -> [String: Any] in
                [
                    "sku": group.key, "unit": group.sku?.unit ?? "", "quantity": group.quantity.map { String(format: "%.4g", $0) } ?? "",
                    "cost": String(format: "%.2f", group.cost),
                ]
            },
        ]
        let alerts = try await admin.spendAlerts(organization: organization, for: call.pass)
        values["alerts"] = alerts.map { alert -> [String: Any] in
            var row: [String: Any] = [
                "id": SpendAlertID(alert).name, "isSpike": alert.kind == .spike, "enabled": alert.enabled,
                "threshold": SpendAlertWire.threshold(alert),
                "recipients": alert.recipients.joined(separator: ", "),
            ]
            if let fired = alert.firedAt { row["fired"] = ConsolePages.date(fired) }
            return row
        }
        let billing = try await admin.billing(organization: organization, for: call.pass)
        if let contact = billing.contact {
            values["contact"] = [
                "name": contact.name, "email": contact.email, "line1": contact.address.line1, "line2": contact.address.line2 ?? "",
                "city": contact.address.city, "postalCode": contact.address.postal_code, "state": contact.address.state ?? "", "country": contact.address.country,
            ]
        }
        values["canWrite"] = call.pass.identity.organizationPermissions.contains(.billingWrite)
        return ConsolePages.page("billing", values)
    }

    /// Replaces the billing contact (checked whole by the service: bad input changes nothing).
    @Sendable func updateBillingContact(_ call: ConsoleCall) async throws -> Response {
        let organization = try await admin.organization(call.pass.identity.organizationID, for: call.pass)
        func optional(_ name: String) -> String? { call.field(name).isEmpty ? nil : call.field(name) }
        let contact = BillingContact(
            name: call.field("name"), email: call.field("email"),
            address: .init(
                line1: call.field("line1"), line2: optional("line2"), city: call.field("city"), postal_code: call.field("postal_code"),
                state: optional("state"), country: call.field("country")
            )
        )
        call.context.audit(id: .string(organization.name), name: organization.name)
        _ = try await admin.updateBilling(organization: organization.id, contact: contact, for: call.pass)
        return ConsolePages.redirect(to: "/console/billing")
    }

    @Sendable func createSpendAlert(_ call: ConsoleCall) async throws -> Response {
        guard let amount = Double(call.field("amount_usd")) else { throw ConiferError.invalidArgument("The amount must be a number of dollars.") }
        let recipients = call.field("recipients").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        _ = try await spendAlerts.create(
            organization: call.pass.identity.organizationID, SpendAlertRequestWire(amount_usd: amount, recipients: recipients.isEmpty ? nil : recipients),
            call.context, call.pass
        )
        return ConsolePages.redirect(to: "/console/billing")
    }

    /// Enables or disables an alert (the form's `enabled`).
    @Sendable func updateSpendAlert(_ call: ConsoleCall) async throws -> Response {
        let body = SpendAlertRequestWire(enabled: call.form["enabled"] == "true")
        _ = try await spendAlerts.update(try SpendAlertsController.alertID(call.context), organization: call.pass.identity.organizationID, body, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/billing")
    }

    @Sendable func deleteSpendAlert(_ call: ConsoleCall) async throws -> Response {
        let alertID = try SpendAlertsController.alertID(call.context)
        call.context.audit(id: .string(alertID.name))
        try await admin.deleteSpendAlert(alertID, organization: call.pass.identity.organizationID, for: call.pass)
        return ConsolePages.redirect(to: "/console/billing")
    }
}
