import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Logging
import ServiceLifecycle

/// Evaluates spend alerts: an alert whose threshold this month's cost (the ledger at the server's prices) has
/// reached fires once per billing cycle — an audit event ("spend alert fired", by the system) and, when the
/// server has mail, a message in the outbox, both in the transaction that marks it fired.
struct SpendAlerts: Sendable {
    let admin: any AdminCatalog
    let prices: PriceList
    /// The sender's address; nil when the server has no mail (the event is still recorded).
    let mailFrom: String?
    let serverURL: @Sendable () -> String
    let observer: any ActionObserver
    let logger: Logger

    /// Fires what is due at `now`; returns how many fired.
    @discardableResult
    func evaluate(at now: Date) async -> Int {
        let firing: [FiringSpendAlert]
        do {
            firing = try await admin.firingSpendAlerts(at: now, prices: prices)
        } catch {
            logger.warning("could not evaluate spend alerts", metadata: ["error": "\(error)"])
            return 0
        }
        var fired = 0
        let admin = self.admin
        for alert in firing {
            let id = SpendAlertID(alert.alert).name
            let outcome = ActionOutcome(
                actor: .system(.spendAlerts), action: AuditKind.spendAlertFired.name, kind: .spendAlertFired,
                resource: ["alert_id": id], result: .succeeded, organizationID: alert.alert.organizationID,
                details: ActionDetails(resourceID: .string(id), parameters: [
                    "cycle": .string(BillingCycle.name(alert.cycle)), "cost_usd": .number(Self.cents(alert.cost)),
                    "threshold_usd": .number(Self.cents(alert.threshold)), "recipients": .number(Double(alert.alert.recipients.count)),
                ])
            )
            let message: MailMessage? = mailFrom.map { self.message(for: alert, from: $0) }
            do {
                if try await observer.record(outcome, { try await admin.fire(alert, message: message, at: now) }) { fired += 1 }
            } catch {
                logger.warning("a spend alert could not fire", metadata: ["alert": "\(id)", "error": "\(error)"])
            }
        }
        return fired
    }

    func message(for firing: FiringSpendAlert, from: String) -> MailMessage {
        let cycle = BillingCycle.name(firing.cycle)
        let organization = firing.organizationName
        let cost = Self.dollars(firing.cost)
        let usage = "\(serverURL())/admin/organizations/\(firing.alert.organizationID.lowercasedString)/usage"
        switch firing.alert.kind {
        case .spend:
            return MailMessage(
                from: from, to: firing.alert.recipients, subject: "Spend alert: \(organization) has reached \(Self.dollars(firing.threshold)) in \(cycle)",
                text: """
                    The organization "\(organization)" has spent \(cost) so far in the billing cycle \(cycle) (UTC), reaching \
                    your spend alert of \(Self.dollars(firing.threshold)).

                    See its usage and cost by SKU, project or service with `conifer usage` or at \(usage).

                    This alert fires once per billing cycle. Change or delete it with `conifer spend-alert` \
                    (alert \(firing.alert.id.lowercasedString)).
                    """
            )
        case .spike:
            return MailMessage(
                from: from, to: firing.alert.recipients, subject: "Spike alert: \(organization)'s spend in \(cycle) is twice last month's",
                text: """
                    The organization "\(organization)" has spent \(cost) so far in the billing cycle \(cycle) (UTC): at least \
                    twice the previous cycle's total of \(Self.dollars(firing.previousCycleCost)).

                    See its usage and cost by SKU, project or service with `conifer usage` or at \(usage).

                    The spike alert fires once per billing cycle; change its recipients or turn it off with \
                    `conifer spend-alert update spike`.
                    """
            )
        }
    }

    static func cents(_ usd: Double) -> Double { (usd * 100).rounded() / 100 }
    static func dollars(_ usd: Double) -> String { String(format: "$%.2f", usd) }
}

/// Runs the evaluation every `interval` until graceful shutdown, at the schedule clock's time.
struct SpendAlertService: Service {
    let alerts: SpendAlerts
    let clock: ScheduleClock
    var interval: Duration

    func run() async throws {
        await repeatUntilShutdown(every: interval) { await alerts.evaluate(at: clock.now()) }
    }
}
