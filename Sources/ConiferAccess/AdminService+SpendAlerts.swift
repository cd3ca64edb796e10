import ConiferCore
import Foundation

/// Which alert a call names: one of the organization's spend alerts, or its spike alert (`spike` in paths).
public enum SpendAlertID: Sendable, Equatable {
    case spend(UUID)
    case spike

    public init(_ alert: SpendAlert) {
        self = alert.kind == .spike ? .spike : .spend(alert.id)
    }

    /// How paths and audit events name it: `spike`, or the alert's id.
    public var name: String {
        switch self {
        case .spike: "spike"
        case .spend(let id): id.lowercasedString
        }
    }
}

/// An alert whose threshold the cycle's cost has reached, with what its message says.
public struct FiringSpendAlert: Sendable {
    public var alert: SpendAlert
    public var organizationName: String
    public var cycle: Date
    public var cost: Double
    public var threshold: Double
    public var previousCycleCost: Double
}

/// Spend alerts: owners and billing admins list them (billing:read) and change them (billing:write) on the
/// Standard and Enterprise plans (402 on Starter, like the usage report). The spike alert exists for every
/// organization: until it is changed or fires it is the default (on, to the organization's owners who have an
/// email address) and has no row.
extension AdminService {
    public func spendAlerts(organization id: UUID, for pass: AdminPass) async throws -> [SpendAlert] {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingRead)
        return try await store.read { rows in
            let organization = try Self.billedOrganization(rows, id)
            return try Self.alerts(rows, organization)
        }
    }

    public func spendAlert(_ alertID: SpendAlertID, organization id: UUID, for pass: AdminPass) async throws -> SpendAlert {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingRead)
        return try await store.read { rows in try Self.alert(alertID, in: try Self.alerts(rows, try Self.billedOrganization(rows, id))) }
    }

    /// A new monthly alert at `amount` dollars, to `recipients` (by default the organization's owners' addresses).
    public func createSpendAlert(
        organization id: UUID, amount: Double, recipients: [String]?, enabled: Bool, at now: Date = Date(), for pass: AdminPass
    ) async throws -> SpendAlert {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingWrite)
        try SpendAlert.validate(amount: amount)
        if let recipients { try SpendAlert.validate(recipients: recipients) }
        return try await store.write { rows in
            let organization = try Self.billedOrganization(rows, id)
            let existing = try rows.spendAlerts(organization: id).filter { $0.kind == .spend }
            guard existing.count < SpendAlert.maxAlerts else {
                throw ConiferError(.resourceExhausted, "An organization has at most \(SpendAlert.maxAlerts) spend alerts besides the spike alert.")
            }
            let addresses = try recipients ?? Self.ownerAddresses(rows, organization.id)
            guard !addresses.isEmpty else {
                throw ConiferError.invalidArgument("The organization has no owner with an email address: pass recipients.")
            }
            let alert = SpendAlert(organizationID: id, kind: .spend, amountUSD: amount, recipients: addresses, enabled: enabled, createdAt: now)
            try rows.save(alert)
            return alert
        }
    }

    /// Changes what is given. The spike alert's threshold is fixed (twice the previous cycle): it takes no amount.
    public func updateSpendAlert(
        _ alertID: SpendAlertID, organization id: UUID, amount: Double?, recipients: [String]?, enabled: Bool?, for pass: AdminPass
    ) async throws -> SpendAlert {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingWrite)
        if let amount {
            guard alertID != .spike else { throw ConiferError.invalidArgument("The spike alert's threshold is twice the previous month's total; it takes no amount_usd.") }
            try SpendAlert.validate(amount: amount)
        }
        if let recipients { try SpendAlert.validate(recipients: recipients) }
        return try await store.write { rows in
            var alert = try Self.alert(alertID, in: try Self.alerts(rows, try Self.billedOrganization(rows, id)))
            if let amount { alert.amountUSD = amount }
            if let recipients { alert.recipients = recipients }
            if let enabled { alert.enabled = enabled }
            try rows.save(alert)
            return alert
        }
    }

    public func deleteSpendAlert(_ alertID: SpendAlertID, organization id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingWrite)
        guard case .spend(let alertUUID) = alertID else {
            throw ConiferError.invalidArgument("The spike alert cannot be deleted; turn it off with enabled: false.")
        }
        try await store.write { rows in
            _ = try Self.alert(alertID, in: try Self.alerts(rows, try Self.billedOrganization(rows, id)))
            try rows.deleteSpendAlert(alertUUID)
        }
    }

    // MARK: Evaluation (the system's)

    /// Every enabled alert of a paid organization whose threshold this cycle's cost has reached and that has not
    /// fired in this cycle. Costs are the ledger's quantities at `prices` (as the usage report computes them).
    public func firingSpendAlerts(at now: Date, prices: PriceList) async throws -> [FiringSpendAlert] {
        let cycle = BillingCycle.start(of: now)
        let previous = BillingCycle.previous(cycle)
        return try await store.read { rows in
            var firing: [FiringSpendAlert] = []
            for organization in try rows.organizations() where organization.plan != .starter {
                let end = now.addingTimeInterval(3600)  // through the current hour's entries
                let lines = try rows.usage(organization: organization.id, from: previous, to: end).map { UsageLine(entry: $0, projectName: "") }
                let cost = UsageReport(lines: lines, plan: organization.plan, prices: prices, start: cycle, end: end).totalCost
                let previousCost = UsageReport(lines: lines, plan: organization.plan, prices: prices, start: previous, end: cycle).totalCost
                for alert in try Self.alerts(rows, organization) where alert.fires(cycle: cycle, cost: cost, previousCycleCost: previousCost) {
                    firing.append(FiringSpendAlert(
                        alert: alert, organizationName: organization.name, cycle: cycle, cost: cost,
                        threshold: alert.threshold(previousCycleCost: previousCost) ?? 0, previousCycleCost: previousCost
                    ))
                }
            }
            return firing
        }
    }

    /// Marks the alert fired in its cycle and queues its message, in one transaction; false when it already fired
    /// in this cycle, was turned off or is gone (nothing is sent twice).
    public func fire(_ firing: FiringSpendAlert, message: MailMessage?, at now: Date) async throws -> Bool {
        try await store.write { rows in
            guard let organization = try rows.organization(firing.alert.organizationID) else { return false }
            guard var alert = try? Self.alert(SpendAlertID(firing.alert), in: try Self.alerts(rows, organization)), alert.enabled, alert.firedCycle != firing.cycle else {
                return false
            }
            alert.firedCycle = firing.cycle
            alert.firedAt = now
            try rows.save(alert)
            if let message, !message.to.isEmpty {
                try rows.save(OutboxMail(organizationID: organization.id, kind: "\(alert.kind.rawValue)_alert", message: message, at: now))
            }
            return true
        }
    }

    // MARK: Helpers

    static func billedOrganization(_ rows: some CatalogRows, _ id: UUID) throws -> OrganizationRow {
        guard let row = try rows.organization(id) else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
        guard row.plan != .starter else { throw ConiferError(.paymentRequired, "Spend alerts need the Standard or Enterprise plan.") }
        return row
    }

    /// The spike alert first (its row, or the default), then the spend alerts, oldest first.
    static func alerts(_ rows: some CatalogRows, _ organization: OrganizationRow) throws -> [SpendAlert] {
        let stored = try rows.spendAlerts(organization: organization.id)
        let spike = try stored.first { $0.kind == .spike }
            ?? SpendAlert(organizationID: organization.id, kind: .spike, amountUSD: nil, recipients: ownerAddresses(rows, organization.id), createdAt: organization.createdAt)
        return [spike] + stored.filter { $0.kind == .spend }
    }

    static func alert(_ id: SpendAlertID, in alerts: [SpendAlert]) throws -> SpendAlert {
        let found = switch id {
        case .spike: alerts.first { $0.kind == .spike }
        case .spend(let uuid): alerts.first { $0.kind == .spend && $0.id == uuid }
        }
        guard let found else { throw ConiferError.notFound("Spend alert not found.") }
        return found
    }

    /// The addresses of the organization's owners who are users (service accounts have none), sorted.
    static func ownerAddresses(_ rows: some CatalogRows, _ organization: UUID) throws -> [String] {
        let owners = try rows.roleBindings(BindingQuery(
            principalType: .user, resourceType: .organization, resourceID: organization, role: .organization(.owner)
        ))
        return try rows.users(owners.map(\.principalID)).map(\.email).filter(MailMessage.isDeliverable).sorted()
    }
}
