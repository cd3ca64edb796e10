import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// What became of the organization's messages (`GET /admin/organizations/{organization_id}/mail`, Conifer's own
/// route; `conifer mail status`): owners see each message's kind, recipients, subject, status, attempts and last
/// error, never its body.
struct MailController {
    let admin: any AdminCatalog

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/organizations/:organization_id/mail", .organization(.organizationWrite), handler: status)
    }

    @Sendable func status(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        return try WireJSON.response(status: .ok, DataListWire(data: try await admin.mail(organization: id, for: call.pass).map(MailWire.init)))
    }
}

struct MailWire: Encodable {
    var id: String
    var kind: String
    var recipients: [String]
    var subject: String
    var status: String
    var attempts: Int
    var next_attempt_at: Date?
    var last_error: String?
    var created_at: Date
    var sent_at: Date?

    init(_ mail: OutboxMail) {
        id = mail.id.lowercasedString
        kind = mail.kind
        recipients = mail.recipients
        subject = mail.subject
        status = mail.status.rawValue
        attempts = mail.attempts
        next_attempt_at = mail.status == .pending ? mail.nextAttemptAt : nil
        last_error = mail.lastError
        created_at = mail.createdAt
        sent_at = mail.sentAt
    }
}
