import ConiferCore
import Foundation
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL

/// Where mail goes: `smtp://[user:password@]host[:port]` (STARTTLS whenever the server offers it, and required
/// before a password is sent) or `smtps://…` (TLS from the first byte, port 465 by default).
public struct SMTPServer: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var implicitTLS: Bool
    public var username: String?
    public var password: String?

    public init(url text: String) throws(MailError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["smtp", "smtps"].contains(scheme),
              let host = url.host, !host.isEmpty
        else { throw MailError("The SMTP URL must look like smtp://user:password@host:587 (or smtps://…).") }
        self.host = host
        implicitTLS = scheme == "smtps"
        port = url.port ?? (implicitTLS ? 465 : 587)
        username = url.user?.removingPercentEncoding
        password = url.password?.removingPercentEncoding
    }

    /// The URL without its password, for logs and status.
    public var redacted: String { "\(implicitTLS ? "smtps" : "smtp")://\(username.map { "\($0)@" } ?? "")\(host):\(port)" }
}

/// A failure to deliver, with what the server said (never the password).
public struct MailError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// Whether trying again later may succeed (a 4xx reply, a network failure); a 5xx reply is permanent.
    public var transient: Bool

    public init(_ description: String, transient: Bool = false) {
        self.description = description
        self.transient = transient
    }
}

extension MailMessage {
    /// The message as RFC 5322 text with CRLF line ends, dot-stuffed for DATA. Header values lose any line break
    /// (no header injection); the body is UTF-8, quoted-printable free (8bit).
    func data(messageID: String, date: Date) -> String {
        func header(_ value: String) -> String { value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var lines = [
            "From: \(header(from))", "To: \(to.map(header).joined(separator: ", "))", "Subject: \(header(subject))",
            "Date: \(formatter.string(from: date))", "Message-ID: <\(messageID)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
        ]
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        lines += body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        return lines.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}

/// Sends messages over SMTP (RFC 5321), one connection per message: EHLO, STARTTLS when offered (or TLS from the
/// start), AUTH PLAIN when the URL has a user, MAIL FROM, RCPT TO, DATA, QUIT. Certificates are verified against
/// the system's roots, or `trustRoots` when given (a private CA). A conversation that takes longer than `timeout`
/// (a server that accepts and never answers) is abandoned as a transient failure, so one server cannot stall the
/// outbox.
public struct SMTPClient: Sendable {
    public let server: SMTPServer
    let trustRoots: NIOSSLTrustRoots
    let timeout: TimeAmount

    public init(server: SMTPServer, caFile: String? = nil, timeout: TimeAmount = .seconds(30)) {
        self.server = server
        trustRoots = caFile.map { .file($0) } ?? .default
        self.timeout = timeout
    }

    public func send(_ message: MailMessage) async throws(MailError) {
        guard MailMessage.isDeliverable(message.from), !message.to.isEmpty, message.to.allSatisfy(MailMessage.isDeliverable) else {
            throw MailError("A sender or recipient is not a deliverable address.")
        }
        let limit = Duration.nanoseconds(timeout.nanoseconds)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await deliver(message) }
                group.addTask {
                    try await Task.sleep(for: limit)
                    throw MailError("\(server.host):\(server.port) did not finish the conversation within \(limit).", transient: true)
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let error as MailError {
            throw error
        } catch {
            throw MailError("Could not talk to \(server.host):\(server.port): \(error)", transient: true)
        }
    }

    private func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = trustRoots
        return try NIOSSLContext(configuration: configuration)
    }

    private func deliver(_ message: MailMessage) async throws {
        let server = self.server
        let tls = try tlsContext()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if server.implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: server.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var lines = inbound.makeAsyncIterator()
            /// The server's reply (all lines of a multi-line one), checked to be `expected`.
            func reply(_ expected: Int, to what: String) async throws -> [String] {
                var texts: [String] = []
                while true {
                    guard let buffer = try await lines.next() else { throw MailError("\(server.host) closed the connection during \(what).", transient: true) }
                    let line = String(buffer: buffer).trimmingCharacters(in: .init(charactersIn: "\r"))
                    guard line.count >= 3, let code = Int(line.prefix(3)) else { throw MailError("\(server.host) answered \(what) with something not SMTP.") }
                    texts.append(String(line.dropFirst(4)))
                    guard line.dropFirst(3).first == "-" else {
                        guard code == expected else {
                            throw MailError("\(server.host) refused \(what): \(code) \(line.dropFirst(4).prefix(200))", transient: (400..<500).contains(code))
                        }
                        return texts
                    }
                }
            }
            func command(_ text: String, expect code: Int, what: String) async throws -> [String] {
                try await outbound.write(ByteBuffer(string: text + "\r\n"))
                return try await reply(code, to: what)
            }
            _ = try await reply(220, to: "the greeting")
            var extensions = try await command("EHLO conifer", expect: 250, what: "EHLO")
            if !server.implicitTLS {
                if extensions.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
                    _ = try await command("STARTTLS", expect: 220, what: "STARTTLS")
                    let handler = try NIOSSLClientHandler(context: tls, serverHostname: server.host)
                    try await channel.channel.pipeline.addHandler(handler, position: .first)
                    extensions = try await command("EHLO conifer", expect: 250, what: "EHLO after STARTTLS")
                } else if server.username != nil {
                    throw MailError("\(server.host) does not offer STARTTLS: the password is not sent in clear.")
                }
            }
            if let username = server.username {
                let secret = Data("\0\(username)\0\(server.password ?? "")".utf8).base64EncodedString()
                _ = try await command("AUTH PLAIN \(secret)", expect: 235, what: "AUTH")
            }
            _ = try await command("MAIL FROM:<\(message.from)>", expect: 250, what: "MAIL FROM")
            for recipient in message.to {
                _ = try await command("RCPT TO:<\(recipient)>", expect: 250, what: "RCPT TO")
            }
            _ = try await command("DATA", expect: 354, what: "DATA")
            try await outbound.write(ByteBuffer(string: message.data(messageID: "\(UUID().uuidString.lowercased())@conifer", date: Date())))
            _ = try await reply(250, to: "the message")
            _ = try? await command("QUIT", expect: 221, what: "QUIT")
        }
    }
}
