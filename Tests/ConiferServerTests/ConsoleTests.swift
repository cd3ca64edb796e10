import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import ConiferServer

/// The web console's sessions over HTTP: sign-in (throttled and audited like the token endpoint), the session
/// cookie's flags, a page with the signed-in user's organization (escaped), the strict headers on every answer,
/// sign-out refused without the session's CSRF token or from another origin, and the cookie the only way in.
@Suite struct ConsoleTests {
    /// The authority HummingbirdTesting's live client sends (its `Host`).
    static let host = "localhost"
    static let password = "correct horse battery staple"

    /// A browser-like request: the console's Origin, a form body, the session cookie when given.
    static func browse(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, cookie: String? = nil, form: String? = nil,
        origin: String? = "http://\(host)", extra: [(String, String)] = []
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let origin { headers.append(HTTPField(name: HTTPField.Name("Origin")!, value: origin)) }
        if let cookie { headers.append(HTTPField(name: .cookie, value: "\(ConsoleRequest.cookieName)=\(cookie)")) }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        for (name, value) in extra { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) })
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Invites `email` as an OrgMember and accepts with `password`.
    static func user(_ client: any TestClientProtocol, owner: String, email: String = "ada@example.com") async throws {
        let invite = try await client.admin(
            .post, "/admin/invites", token: owner, body: #"{"email":"\#(email)","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
        )
        let token = try #require(invite.json["token"] as? String, "\(invite.text)")
        #expect(try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"\#(password)","name":"Ada"}"#).status == 200)
    }

    static func cookie(of reply: Reply) -> String? {
        guard let header = reply.headers[.setCookie], header.hasPrefix(ConsoleRequest.cookieName + "=") else { return nil }
        return header.dropFirst(ConsoleRequest.cookieName.count + 1).split(separator: ";").first.map(String.init)
    }

    static func expectStrictHeaders(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        let csp = reply.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
        #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), sourceLocation: sourceLocation)
        #expect(reply.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", sourceLocation: sourceLocation)
        #expect(reply.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", sourceLocation: sourceLocation)
        #expect(reply.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", sourceLocation: sourceLocation)
    }

    @Test func aUserSignsInSeesTheOrganizationAndSignsOut() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            // Names a page shows are escaped: markup and quotes stay text.
            let hostile = #"<script>alert(1)</script>" onmouseover="x' & more"#
            let renamed = try await client.admin(.patch, "/admin/organizations/\(organization)", token: owner, body: #"{"name":"<script>alert(1)</script>\" onmouseover=\"x' & more"}"#)
            #expect(renamed.status == 200, "\(renamed.text)")
            try await Self.user(client, owner: owner)

            let form = try await Self.browse(client, .get, "/console/sign-in")
            #expect(form.status == 200 && form.text.contains(#"<form method="post" action="/console/sign-in">"#) && !form.text.contains("<script"))
            Self.expectStrictHeaders(form)
            #expect(try await Self.browse(client, .get, "/console").status == 401, "no session")

            let wrong = try await Self.browse(client, .post, "/console/sign-in", form: "email=ada%40example.com&password=wrong+wrong+wrong")
            #expect(wrong.status == 401 && Self.cookie(of: wrong) == nil && wrong.text.contains("not right"))
            let foreign = try await Self.browse(client, .post, "/console/sign-in", form: "email=ada%40example.com&password=correct+horse+battery+staple", origin: "https://evil.example")
            #expect(foreign.status == 403 && Self.cookie(of: foreign) == nil, "a sign-in posted from another site")
            let signedIn = try await Self.browse(client, .post, "/console/sign-in", form: "email=ada%40example.com&password=correct+horse+battery+staple")
            #expect(signedIn.status == 303 && signedIn.headers[.location] == "/console", "\(signedIn.status) \(signedIn.text)")
            let setCookie = signedIn.headers[.setCookie] ?? ""
            for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=43200"] { #expect(setCookie.contains(flag), "\(setCookie)") }
            #expect(!setCookie.contains("Secure"), "no TLS here: a Secure cookie would never come back")
            let session = try #require(Self.cookie(of: signedIn))

            let page = try await Self.browse(client, .get, "/console", cookie: session)
            #expect(page.status == 200, "\(page.text)")
            Self.expectStrictHeaders(page)
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.text.contains("<script") && !page.text.contains(#"" onmouseover"#), "\(page.text)")
            #expect(!page.text.contains(hostile))
            #expect(page.text.contains("OrgMember") && page.text.contains("ada@example.com"))
            let projects = try await client.admin(.get, "/admin/projects", token: try await client.userToken("ada@example.com", Self.password))
            #expect((projects.json["data"] as? [[String: Any]])?.isEmpty == true && page.text.contains("No projects you can see."), "as the Admin API shows her")
            let csrf = try #require(page.text.firstMatch(of: /name="csrf_token" value="([A-Za-z0-9_-]+)"/)?.1).description

            // The cookie is the only way in: a bearer token or API key does not open the console.
            #expect(try await client.admin(.get, "/console", token: owner).status == 401)
            // Sign-out needs the session's own token, from the console's origin.
            #expect(try await Self.browse(client, .post, "/console/sign-out", cookie: session, form: "csrf_token=").status == 403)
            #expect(try await Self.browse(client, .post, "/console/sign-out", cookie: session, form: "csrf_token=\(ConsoleSession.csrfToken(secret: "pccs_other"))").status == 403)
            #expect(try await Self.browse(client, .post, "/console/sign-out", cookie: session, form: "csrf_token=\(csrf)", origin: "https://evil.example").status == 403)
            #expect(try await Self.browse(client, .post, "/console/sign-out", cookie: session, form: "csrf_token=\(csrf)", extra: [("Sec-Fetch-Site", "cross-site")]).status == 403)
            #expect(try await Self.browse(client, .get, "/console", cookie: session).status == 200, "refused sign-outs changed nothing")
            let out = try await Self.browse(client, .post, "/console/sign-out", cookie: session, form: "csrf_token=\(csrf)")
            #expect(out.status == 303 && out.headers[.location] == "/console/sign-in" && (out.headers[.setCookie] ?? "").contains("Max-Age=0"))
            let after = try await Self.browse(client, .get, "/console", cookie: session)
            #expect(after.status == 401 && after.text.contains(#"href="/console/sign-in""#))
            Self.expectStrictHeaders(after)

            // Sign-ins and the sign-out are audit events, as the token endpoint's are.
            let events = try await client.admin(.get, "/admin/audit-events?limit=100", token: owner).json["data"] as? [[String: Any]] ?? []
            let bodies = events.compactMap { $0["event"] as? [String: Any] }
            let logins = bodies.filter { $0["action"] as? String == "login" && $0["resource_id"] as? String == "ada@example.com" }
            let failures = logins.filter { ($0["outcome"] as? [String: Any])?["result"] as? String == "failure" }
            #expect(logins.count == 3 && failures.count == 1, "the console's failure and success, and the token for the API check: \(logins)")
            #expect(bodies.filter { $0["action"] as? String == "logout" && $0["resource_id"] as? String == "ada@example.com" }.count == 1)
        }
    }

    /// Failed console sign-ins count against the same throttle as the token endpoint's.
    @Test func failedSignInsAreThrottledWithTheTokenEndpoint() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            try await Self.user(client, owner: owner)
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(try await Self.browse(client, .post, "/console/sign-in", form: "email=ada%40example.com&password=not+the+password").status)
            }
            #expect(statuses.first == 401 && statuses.last == 429, "\(statuses)")
            let token = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"\#(Self.password)"}"#)
            #expect(token.status == 429, "the account is throttled on both ways in: \(token.text)")
        }
    }
}

extension TestClientProtocol {
    /// A user's bearer token from the password grant.
    func userToken(_ email: String, _ password: String) async throws -> String {
        let reply = try await call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"\#(email)","password":"\#(password)"}"#)
        guard let token = reply.json["access_token"] as? String else { throw TestFailure("no token: \(reply.text)") }
        return token
    }
}
