import ConiferCore
import Foundation
import GRDB

// The mail outbox: messages waiting to be sent, and the delivery record of those sent or given up. Recipients and
// bodies are sealed (addresses are personal data; an invite's body holds its token); a sent message loses its body.

extension SQLiteCatalog {
    static func registerMailMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v18 mail outbox, billing contacts") { db in
            try db.create(table: "mail_outbox") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).indexed().references("organization", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("message", .blob)
                t.column("recipients", .blob).notNull()
                t.column("subject", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("next_attempt_at", .integer).notNull()  // seconds since 1970
                t.column("last_error", .text)
                t.column("created_at", .datetime).notNull()
                t.column("sent_at", .datetime)
            }
            try db.create(index: "mail_outbox_due", on: "mail_outbox", columns: ["status", "next_attempt_at"])
            try db.alter(table: "organization") { t in t.add(column: "billing_contact", .blob) }
        }
    }
}

extension SQLiteRows {
    func save(_ mail: OutboxMail) throws {
        try db.execute(
            sql: """
                INSERT INTO mail_outbox (id, organization_id, kind, message, recipients, subject, status, attempts, next_attempt_at, last_error, created_at, sent_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET message = excluded.message, status = excluded.status, attempts = excluded.attempts,
                    next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, sent_at = excluded.sent_at
                """,
            arguments: [
                mail.id.lowercasedString, mail.organizationID?.lowercasedString, mail.kind, try mail.message.map { try sealer.seal(json: $0, .mailMessage) },
                try sealer.seal(json: mail.recipients, .mailRecipients), mail.subject, mail.status.rawValue, mail.attempts,
                Int64(mail.nextAttemptAt.timeIntervalSince1970.rounded(.down)), mail.lastError, mail.createdAt, mail.sentAt,
            ]
        )
    }

    func dueMail(at now: Date, limit: Int) throws -> [OutboxMail] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?",
            arguments: [Int64(now.timeIntervalSince1970), limit]
        ).map(mail)
    }

    func mail(organization: UUID, limit: Int) throws -> [OutboxMail] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM mail_outbox WHERE organization_id = ? ORDER BY created_at DESC LIMIT ?", arguments: [organization.lowercasedString, limit]
        ).map(mail)
    }

    private func mail(_ row: Row) throws -> OutboxMail {
        var mail = OutboxMail(
            organizationID: try (row["organization_id"] as String?).map(SQLiteCatalog.uuid), kind: row["kind"],
            message: MailMessage(from: "", to: [], subject: "", text: ""), at: row["created_at"]
        )
        mail.id = try SQLiteCatalog.uuid(row["id"])
        mail.message = try (row["message"] as Data?).map { try sealer.open(json: $0, as: MailMessage.self, .mailMessage) }
        mail.recipients = try sealer.open(json: row["recipients"] as Data, as: [String].self, .mailRecipients)
        mail.subject = row["subject"]
        mail.status = OutboxMail.Status(rawValue: row["status"]) ?? .failed
        mail.attempts = row["attempts"]
        mail.nextAttemptAt = Date(timeIntervalSince1970: TimeInterval(row["next_attempt_at"] as Int64))
        mail.lastError = row["last_error"]
        mail.sentAt = row["sent_at"]
        return mail
    }
}
