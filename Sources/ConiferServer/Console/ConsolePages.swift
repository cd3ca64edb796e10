import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The web console's pages: Mustache templates (every `{{value}}` is HTML-escaped; the templates use no
/// triple-stache), a hand-written stylesheet, no script. Every console answer, pages and errors alike, carries
/// the headers in `securityHeaders`.
enum ConsolePages {
    /// No script at all, styles from this server only, forms only to it, never framed, no referrer to other sites.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with a form's POST, which the
        // same-origin check must refuse; nothing leaves for another site either way.
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        .cacheControl: "no-store",
    ]

    /// Reloads a page after the given seconds (a page that follows a running job; no script needed).
    static let refresh = HTTPField.Name("Refresh")!

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all {
            // The templates are constants of this file: one that does not parse is a programming error.
            try! library.register(text, named: name)
        }
        return library
    }()

    static func page(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        let html = library.render(values, withTemplate: template) ?? ""
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A time as pages show it: UTC, to the minute.
    static func date(_ date: Date) -> String {
        // `2026-12-06T21:15:03Z` → `2026-12-06 21:15 UTC`; a format style is a value (no formatter made per call).
        let text = date.formatted(iso8601)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    private static let iso8601 = Date.ISO8601FormatStyle(timeZone: .gmt)

    /// A `<select>`'s or a checkbox group's options, the chosen ones marked.
    static func options(_ values: [String], selected: Set<String>) -> [[String: Any]] {
        values.map { ["value": $0, "selected": selected.contains($0)] }
    }

    /// A `303 See Other` to `location` (after a form's POST).
    static func redirect(to location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers)
    }

    /// An error on a console path, as a page: a sign-in link when the session is missing or over.
    static func error(_ error: ConiferError, status: HTTPResponse.Status) -> Response {
        var headers: HTTPFields = [:]
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        return page("error", ["title": "\(status.code) \(status.reasonPhrase)", "message": error.message, "signIn": error.code == .unauthenticated], status: status, headers: headers)
    }
}
