import ConiferCore
import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import ConiferMail

/// What the SMTP client sends, without a server: URLs, addresses, and the message text (the conformance suite sends
/// through a real SMTP server, aiosmtpd).
@Suite struct SMTPClientTests {
    @Test func urlsNameTheServerAndItsSecurity() throws {
        let plain = try SMTPServer(url: "smtp://mailer:p%40ss@mail.example.com")
        #expect(plain.host == "mail.example.com" && plain.port == 587 && !plain.implicitTLS)
        #expect(plain.username == "mailer" && plain.password == "p@ss")
        #expect(plain.redacted == "smtp://mailer@mail.example.com:587", "no password")
        let tls = try SMTPServer(url: "smtps://mail.example.com")
        #expect(tls.port == 465 && tls.implicitTLS && tls.username == nil)
        for bad in ["http://mail.example.com", "mail.example.com:25", "smtp://", ""] {
            #expect(throws: MailError.self) { try SMTPServer(url: bad) }
        }
    }

    @Test func onlyPlainAddressesAreDeliverable() {
        #expect(MailMessage.isDeliverable("ada@example.com"))
        for bad in ["ada", "@example.com", "ada@", "a@b@c", "ada@example.com>\r\nRCPT TO:<eve@example.com", "ada lovelace@example.com", "<ada@example.com>"] {
            #expect(!MailMessage.isDeliverable(bad), "\(bad)")
        }
    }

    /// Headers cannot be split by a line break in a value (an organization's name goes into a subject); a body line
    /// starting with a dot is stuffed, so it cannot end the DATA early; lines end in CRLF.
    @Test func messagesAreWrittenSafely() {
        let message = MailMessage(
            from: "conifer@example.com", to: ["ada@example.com", "bob@example.com"], subject: "Hello\r\nBcc: eve@example.com",
            text: "first\n.\n.hidden\nlast"
        )
        let text = message.data(messageID: "1@conifer", date: Date(timeIntervalSince1970: 0))
        #expect(text.hasPrefix("From: conifer@example.com\r\nTo: ada@example.com, bob@example.com\r\nSubject: Hello  Bcc: eve@example.com\r\n"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(!text.contains("\r\nBcc:"))
        #expect(text.hasSuffix("\r\n\r\nfirst\r\n..\r\n..hidden\r\nlast\r\n.\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "no bare line feeds")
    }

    /// A server that accepts the connection and never says a word: the send gives up at its timeout with a
    /// transient failure (retried later) instead of holding the outbox.
    @Test func aSilentServerIsATransientFailureAtTheTimeout() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { _ in MultiThreadedEventLoopGroup.singleton.any().makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let client = SMTPClient(server: try SMTPServer(url: "smtp://localhost:\(port)"), timeout: .milliseconds(300))
        let message = MailMessage(from: "conifer@example.com", to: ["ada@example.com"], subject: "s", text: "t")
        do {
            try await client.send(message)
            Issue.record("a silent server took the message")
        } catch {
            #expect(error.transient && error.description.contains("did not finish"), "\(error)")
        }
    }
}
