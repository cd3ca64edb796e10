import Foundation

/// A plain-text mail message, as the outbox keeps it and the SMTP client sends it.
public struct MailMessage: Sendable, Equatable, Codable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String

    public init(from: String, to: [String], subject: String, text: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
    }

    /// An address SMTP commands and headers may carry as it is: printable ASCII without spaces, brackets, quotes
    /// or separators, one `@` with text on both sides, at most 254 characters.
    public static func isDeliverable(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && address.count <= 254
            && address.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 && !"<>()[]\\,;:\"".unicodeScalars.contains($0) }
    }
}

/// A message in the outbox: sent at least once (retried with backoff across failures and restarts), then kept
/// without its body (which may hold a secret, such as an invite's token) so its delivery stays visible.
public struct OutboxMail: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case pending, sent, failed
    }

    public var id: UUID
    public var organizationID: UUID?
    /// What it is about: `invite`, `spend_alert`, `spike_alert`.
    public var kind: String
    /// nil once sent.
    public var message: MailMessage?
    public var recipients: [String]
    public var subject: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(organizationID: UUID?, kind: String, message: MailMessage, at now: Date) {
        id = UUID()
        self.organizationID = organizationID
        self.kind = kind
        self.message = message
        recipients = message.to
        subject = message.subject
        status = .pending
        attempts = 0
        nextAttemptAt = now
        createdAt = now
    }
}
