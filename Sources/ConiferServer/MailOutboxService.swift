import ConiferAccess
import ConiferCore
import ConiferMail
import Foundation
import Logging
import ServiceLifecycle

/// Sends the outbox's due messages every second until graceful shutdown: a message is marked sent once the SMTP
/// server has taken it (and loses its body); a transient failure (a 4xx reply, no connection) is retried after
/// `retryBase` × 2^(attempts − 1), at most an hour apart, up to `maxAttempts`; a permanent one (a 5xx reply) ends
/// it as failed. Every failure is kept with the message (`conifer mail status`). A message taken by the server
/// but not yet marked sent when this process dies is sent again: at least once.
struct MailOutboxService: Service {
    let catalog: any Catalog
    let client: SMTPClient
    let logger: Logger
    var retryBase: Duration = .seconds(30)
    var interval: Duration = .seconds(1)
    static let maxAttempts = 12

    func run() async throws {
        await repeatUntilShutdown(every: interval) { await deliverDue() }
        await deliverDue()  // what became due while stopping
    }

    func deliverDue(now: Date = Date()) async {
        let due: [OutboxMail]
        do {
            due = try await catalog.dueMail(at: now, limit: 20)
        } catch {
            logger.warning("could not read the mail outbox", metadata: ["error": "\(error)"])
            return
        }
        for var mail in due {
            guard let message = mail.message else { continue }
            mail.attempts += 1
            do {
                try await client.send(message)
                mail.status = .sent
                mail.sentAt = Date()
                mail.message = nil  // the last error, if any, stays: what delayed it
            } catch {
                mail.lastError = String(error.description.prefix(500))
                let delay = min(3600, Double(retryBase.components.seconds) * pow(2, Double(mail.attempts - 1)))
                mail.nextAttemptAt = Date().addingTimeInterval(delay)
                if !error.transient || mail.attempts >= Self.maxAttempts { mail.status = .failed }
                logger.warning(
                    "a message was not delivered", metadata: ["mail": "\(mail.id)", "kind": "\(mail.kind)", "attempts": "\(mail.attempts)", "error": "\(error)"]
                )
            }
            do {
                try await catalog.saveMail(mail)
            } catch {
                logger.error("could not record a delivery", metadata: ["mail": "\(mail.id)", "error": "\(error)"])
            }
        }
    }
}
