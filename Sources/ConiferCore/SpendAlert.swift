import Foundation

/// A monthly spend alert: a message to its recipients, once per billing cycle (a calendar month, UTC), when the
/// organization's cost so far this cycle reaches the threshold. A `spend` alert's threshold is its amount; the
/// organization's one `spike` alert's is twice the previous cycle's total (none when that total was zero), and it
/// can be turned off or readdressed but not deleted.
public struct SpendAlert: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case spend, spike
    }

    public var id: UUID
    public var organizationID: UUID
    public var kind: Kind
    /// The threshold in USD (a spend alert's only).
    public var amountUSD: Double?
    public var recipients: [String]
    public var enabled: Bool
    /// The start of the cycle in which it last fired, and when.
    public var firedCycle: Date?
    public var firedAt: Date?
    public var createdAt: Date

    public init(id: UUID = UUID(), organizationID: UUID, kind: Kind, amountUSD: Double?, recipients: [String], enabled: Bool = true, createdAt: Date) {
        self.id = id
        self.organizationID = organizationID
        self.kind = kind
        self.amountUSD = amountUSD
        self.recipients = recipients
        self.enabled = enabled
        self.createdAt = createdAt
    }

    /// The most spend alerts (besides the spike alert) an organization keeps, and recipients per alert.
    public static let maxAlerts = 20
    public static let maxRecipients = 20

    /// The cost that fires it this cycle, given the previous cycle's total (nil: it cannot fire).
    public func threshold(previousCycleCost: Double) -> Double? {
        switch kind {
        case .spend: amountUSD
        case .spike: previousCycleCost > 0 ? 2 * previousCycleCost : nil
        }
    }

    /// Whether it fires now: enabled, not yet fired in this cycle, and the cycle's cost has reached its threshold.
    public func fires(cycle: Date, cost: Double, previousCycleCost: Double) -> Bool {
        guard enabled, firedCycle != cycle, let threshold = threshold(previousCycleCost: previousCycleCost) else { return false }
        return cost >= threshold
    }

    /// A threshold in dollars: positive, finite, at most a billion, in whole cents.
    public static func validate(amount: Double) throws(ConiferError) {
        guard amount.isFinite, amount >= 0.01, amount <= 1e9 else { throw .invalidArgument("amount_usd must be between 0.01 and 1000000000.") }
        guard abs(amount * 100 - (amount * 100).rounded()) < 1e-6 else { throw .invalidArgument("amount_usd must be in whole cents.") }
    }

    public static func validate(recipients: [String]) throws(ConiferError) {
        guard !recipients.isEmpty else { throw .invalidArgument("recipients must name at least one email address.") }
        guard recipients.count <= maxRecipients else { throw .invalidArgument("An alert has at most \(maxRecipients) recipients.") }
        for address in recipients where !MailMessage.isDeliverable(address) {
            throw .invalidArgument("recipients must be email addresses; \"\(address.prefix(80))\" is not one.")
        }
    }
}

/// Billing cycles are calendar months in UTC.
public enum BillingCycle {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The start of the cycle `date` falls in.
    public static func start(of date: Date) -> Date {
        calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
    }

    /// The start of the cycle before the one starting at `start`.
    public static func previous(_ start: Date) -> Date {
        calendar.date(byAdding: .month, value: -1, to: start)!
    }

    /// `2026-12` for the cycle starting at `start`.
    public static func name(_ start: Date) -> String {
        let parts = calendar.dateComponents([.year, .month], from: start)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }
}
