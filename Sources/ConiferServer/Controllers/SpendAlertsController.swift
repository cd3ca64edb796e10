import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// Spend alerts (`/admin/organizations/{organization_id}/spend-alerts`; Pinecone has no public route for them, so
/// they follow the Admin API's style): owners and billing admins list, create, change and delete monthly alerts;
/// the spike alert (`spike`) is listed first and can be changed (recipients, enabled) but not deleted.
struct SpendAlertsController {
    let admin: any AdminCatalog

    func register(in routes: RouteTable) {
        let path = "/admin/organizations/:organization_id/spend-alerts"
        routes.admin(.get, path, .organization(.billingRead), handler: list)
        routes.admin(.post, path, .organization(.billingWrite), audit: .kind(.createSpendAlert), handler: create)
        routes.admin(.get, "\(path)/:alert_id", .organization(.billingRead), handler: describe)
        routes.admin(.patch, "\(path)/:alert_id", .organization(.billingWrite), audit: .kind(.updateSpendAlert), handler: update)
        routes.admin(.delete, "\(path)/:alert_id", .organization(.billingWrite), audit: .kind(.deleteSpendAlert), handler: delete)
    }

    @Sendable func list(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        return try WireJSON.response(status: .ok, DataListWire(data: try await admin.spendAlerts(organization: id, for: call.pass).map(SpendAlertWire.init)))
    }

    @Sendable func create(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let alert = try await create(organization: id, try await call.decode(SpendAlertRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .created, SpendAlertWire(alert))
    }

    /// Creates a spend alert, named in the call's audit event (this route and the console's form).
    func create(organization id: UUID, _ body: SpendAlertRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> SpendAlert {
        guard let amount = body.amount_usd else { throw ConiferError.invalidArgument("amount_usd is required.") }
        let alert = try await admin.createSpendAlert(organization: id, amount: amount, recipients: body.recipients, enabled: body.enabled ?? true, at: Date(), for: pass)
        context.audit(id: .string(alert.id.lowercasedString), ["amount_usd": .number(amount)])
        return alert
    }

    @Sendable func describe(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        return try WireJSON.response(status: .ok, SpendAlertWire(try await admin.spendAlert(try Self.alertID(call.context), organization: id, for: call.pass)))
    }

    @Sendable func update(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let alertID = try Self.alertID(call.context)
        let alert = try await update(alertID, organization: id, try await call.decode(SpendAlertRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .ok, SpendAlertWire(alert))
    }

    /// Changes a spend alert, named in the call's audit event.
    func update(
        _ alertID: SpendAlertID, organization id: UUID, _ body: SpendAlertRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass
    ) async throws -> SpendAlert {
        context.audit(id: .string(alertID.name))
        guard body.amount_usd != nil || body.recipients != nil || body.enabled != nil else {
            throw ConiferError.invalidArgument("Nothing to change: pass amount_usd, recipients or enabled.")
        }
        var parameters: [String: JSONValue] = [:]
        if let amount = body.amount_usd { parameters["amount_usd"] = .number(amount) }
        if let enabled = body.enabled { parameters["enabled"] = .bool(enabled) }
        context.audit(parameters)
        return try await admin.updateSpendAlert(alertID, organization: id, amount: body.amount_usd, recipients: body.recipients, enabled: body.enabled, for: pass)
    }

    @Sendable func delete(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let alertID = try Self.alertID(call.context)
        call.context.audit(id: .string(alertID.name))
        try await admin.deleteSpendAlert(alertID, organization: id, for: call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// `spike` or a spend alert's id; anything else cannot exist (404).
    static func alertID(_ context: ConiferRequestContext) throws -> SpendAlertID {
        if context.parameters.get("alert_id")?.lowercased() == "spike" { return .spike }
        return .spend(try context.uuidParameter("alert_id", notFound: "Spend alert"))
    }
}

/// `POST` and `PATCH` bodies: `amount_usd` (dollars, whole cents), `recipients` (email addresses; on create, the
/// organization's owners by default), `enabled`.
public struct SpendAlertRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["amount_usd", "recipients", "enabled"]

    var amount_usd: Double?
    var recipients: [String]?
    var enabled: Bool?

    public init(amount_usd: Double? = nil, recipients: [String]? = nil, enabled: Bool? = nil) {
        self.amount_usd = amount_usd
        self.recipients = recipients
        self.enabled = enabled
    }
}

struct SpendAlertWire: Encodable {
    /// An alert's threshold in words, as the API and the console show it.
    static func threshold(_ alert: SpendAlert) -> String {
        alert.kind == .spike ? "2× the previous month's total" : String(format: "%.2f USD this month", alert.amountUSD ?? 0)
    }

    var id: String
    var type: String
    /// A spend alert's threshold; the spike alert's is `threshold` in words.
    var amount_usd: Double?
    var threshold: String
    var recipients: [String]
    var enabled: Bool
    /// The billing cycle (`2026-12`) it last fired in, and when.
    var last_fired_cycle: String?
    var last_fired_at: Date?
    var created_at: Date

    init(_ alert: SpendAlert) {
        id = SpendAlertID(alert).name
        type = alert.kind.rawValue
        amount_usd = alert.amountUSD
        threshold = Self.threshold(alert)
        recipients = alert.recipients
        enabled = alert.enabled
        last_fired_cycle = alert.firedCycle.map(BillingCycle.name)
        last_fired_at = alert.firedAt
        created_at = alert.createdAt
    }
}
