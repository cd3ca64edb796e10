import ConiferCore
import Foundation

extension CatalogSQLRows {
    func save(_ mail: OutboxMail) throws {
        try sql.execute(
            """
            INSERT INTO mail_outbox (id, organization_id, kind, message, recipients, subject, status, attempts, next_attempt_at, last_error, created_at, sent_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET message = excluded.message, status = excluded.status, attempts = excluded.attempts,
                next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, sent_at = excluded.sent_at
            """,
            mail.id, mail.organizationID, mail.kind, try mail.message.map { try sealer.seal(json: $0, .mailMessage) },
            try sealer.seal(json: mail.recipients, .mailRecipients), mail.subject, mail.status.rawValue, mail.attempts,
            Int64(mail.nextAttemptAt.timeIntervalSince1970.rounded(.down)), mail.lastError, mail.createdAt, mail.sentAt
        )
    }

    func dueMail(at now: Date, limit: Int) throws -> [OutboxMail] {
        try sql.rows(
            "SELECT * FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
            Int64(now.timeIntervalSince1970), limit
        ).map(mail)
    }

    func mail(organization: UUID, limit: Int) throws -> [OutboxMail] {
        try sql.rows("SELECT * FROM mail_outbox WHERE organization_id = ? ORDER BY created_at DESC LIMIT ?", organization, limit).map(mail)
    }

    private func mail(_ row: any CatalogRow) throws -> OutboxMail {
        var mail = OutboxMail(
            organizationID: try row.get("organization_id"), kind: try row.get("kind"), message: MailMessage(from: "", to: [], subject: "", text: ""),
            at: try row.get("created_at")
        )
        mail.id = try row.get("id")
        mail.message = try (row.get("message") as Data?).map { try sealer.open(json: $0, as: MailMessage.self, .mailMessage) }
        mail.recipients = try sealer.open(json: try row.get("recipients"), as: [String].self, .mailRecipients)
        mail.subject = try row.get("subject")
        mail.status = OutboxMail.Status(rawValue: try row.get("status")) ?? .failed
        mail.attempts = try row.get("attempts")
        mail.nextAttemptAt = Date(timeIntervalSince1970: TimeInterval(try row.get("next_attempt_at") as Int64))
        mail.lastError = try row.get("last_error")
        mail.sentAt = try row.get("sent_at")
        return mail
    }
}
