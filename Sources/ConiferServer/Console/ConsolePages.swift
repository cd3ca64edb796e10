import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The web console's pages: Mustache templates (every `{{value}}` is HTML-escaped; the templates use no
/// triple-stache), a hand-written stylesheet, no script. Every console answer, pages and errors alike, carries
/// the headers in `securityHeaders`.
enum ConsolePages {
    /// No script at all, styles from this server only, forms only to it, never framed, no referrer.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        .cacheControl: "no-store",
    ]

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
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

    static let stylesheet = """
        :root { --ink: #1b2733; --muted: #4a5a6a; --line: #c9d3dc; --accent: #0b5d3b; --paper: #ffffff; --wash: #f3f6f8; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: var(--wash); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .75rem 1.5rem; background: var(--accent); color: #fff; }
        header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
        main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
        section { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
        h2 { font-size: 1.2rem; margin-top: 0; }
        table { width: 100%; border-collapse: collapse; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
        label { display: block; font-weight: 600; margin-top: .75rem; }
        input[type=email], input[type=password], input[type=text] { width: 100%; max-width: 24rem; padding: .45rem; border: 1px solid var(--muted); border-radius: 4px; font: inherit; }
        button { margin-top: 1rem; padding: .45rem 1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
        header button { margin: 0; background: #fff; color: var(--accent); }
        :focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
        .error { color: #8a1c1c; font-weight: 600; }
        .muted { color: var(--muted); }
        """

    static let templates: [String: String] = [
        "head": """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · Conifer</title><link rel="stylesheet" href="/console/style.css"></head>
            <body>
            """,
        "sign-in": """
            {{> head}}
            <header><h1>Conifer</h1></header>
            <main><section>
            <h2>Sign in</h2>
            {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
            <form method="post" action="/console/sign-in">
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            </section></main></body></html>
            """,
        "overview": """
            {{> head}}
            <header><h1>{{organization.name}}</h1><span>{{user}}</span>
            <form method="post" action="/console/sign-out"><input type="hidden" name="csrf_token" value="{{csrf}}"><button type="submit">Sign out</button></form>
            </header>
            <main>
            <section aria-labelledby="organization"><h2 id="organization">Organization</h2>
            <table><tbody>
            <tr><th scope="row">Name</th><td>{{organization.name}}</td></tr>
            <tr><th scope="row">Plan</th><td>{{organization.plan}}</td></tr>
            <tr><th scope="row">Payment status</th><td>{{organization.paymentStatus}}</td></tr>
            <tr><th scope="row">Your role</th><td>{{role}}</td></tr>
            </tbody></table></section>
            <section aria-labelledby="projects"><h2 id="projects">Projects</h2>
            {{#hasProjects}}<table><thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Created</th></tr></thead><tbody>
            {{#projects}}<tr><td>{{name}}</td><td>{{id}}</td><td>{{created}}</td></tr>{{/projects}}
            </tbody></table>{{/hasProjects}}
            {{^hasProjects}}<p class="muted">No projects you can see.</p>{{/hasProjects}}
            </section>
            </main></body></html>
            """,
        "error": """
            {{> head}}
            <header><h1>Conifer</h1></header>
            <main><section><h2>{{title}}</h2><p class="error" role="alert">{{message}}</p>
            {{#signIn}}<p><a href="/console/sign-in">Sign in</a></p>{{/signIn}}
            </section></main></body></html>
            """,
    ]
}
