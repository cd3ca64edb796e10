import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The web console at `/console`: sign-in by email and password (throttled and audited as `/oauth/token`'s
/// password grant is), sign-out, and the pages, each calling the same services as the Admin API with the
/// signed-in user's identity. Routes are in the permission table; their caller is the session cookie's user.
struct ConsoleController {
    let admin: any AdminCatalog
    /// The token endpoint's throttle and sign-in events, shared so both ways in count the same failures.
    let signIns: OAuthController
    let policy: ConsoleSessionPolicy
    /// Whether the server speaks TLS (the cookie is then `Secure`).
    let secure: Bool

    func register(in routes: RouteTable) {
        routes.open(.get, "/console/style.css", rate: .exempt("a constant stylesheet")) { _, _ in
            var headers = ConsolePages.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: ConsolePages.stylesheet)))
        }
        routes.open(.get, "/console/sign-in", rate: .source(.signin)) { _, _ in ConsolePages.page("sign-in", ["title": "Sign in"]) }
        routes.open(.post, "/console/sign-in", rate: .source(.signin), audit: .byHandler("a sign-in names the account tried: user login")) { request, context in
            try await signIn(request, context)
        }
        routes.console(.post, "/console/sign-out", .authenticated, audit: .kind(.userLogout), handler: signOut)
        routes.console(.get, "/console", .organization(.organizationRead), handler: overview)
    }

    /// Checks the password as the token endpoint does (same throttle, same events) and starts a session.
    func signIn(_ request: Request, _ context: ConiferRequestContext) async throws -> Response {
        try ConsoleRequest.requireSameOrigin(request)
        let form = try await ConsoleRequest.form(request)
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let account = "user:" + email
        let source = context.sourceAddress
        if let wait = signIns.throttle.retryAfter(account: account, source: source) {
            return ConsolePages.error(
                ConiferError(.resourceExhausted, "Too many failed sign-ins; retry after \(wait) seconds.", retryAfterSeconds: wait), status: .tooManyRequests
            )
        }
        let attempt = OAuthController.SignIn(
            kind: .userLogin, typed: email, name: Redaction.email(email), request: request, context: context, action: "POST /console/sign-in"
        )
        guard let user = try await admin.authenticateUser(email: email, password: form["password"] ?? ""),
              let started = try await admin.startConsoleSession(user: user.id, generation: user.generation, policy: policy, at: Date())
        else {
            signIns.throttle.recordFailure(account: account, source: source)
            try await signIns.record(attempt, .denied(.unauthenticated), reason: "Invalid credentials")
            return ConsolePages.page("sign-in", ["title": "Sign in", "email": email, "message": "The email or password is not right."], status: .unauthorized)
        }
        signIns.throttle.recordSuccess(account: account)
        try await signIns.record(attempt, .succeeded)
        return ConsolePages.redirect(to: "/console", headers: [.setCookie: ConsoleRequest.sessionCookie(started.secret, secure: secure, maxAge: policy.absolute)])
    }

    /// Ends the session (its row) and clears the cookie.
    @Sendable func signOut(_ call: ConsoleCall) async throws -> Response {
        if case .user(let id) = call.pass.identity.kind, let user = try? await admin.user(id, for: call.pass) {
            call.context.audit(id: .string(user.email))
        }
        if let secret = ConsoleRequest.sessionSecret(call.request) { try await admin.endConsoleSession(secret: secret) }
        return ConsolePages.redirect(to: "/console/sign-in", headers: [.setCookie: ConsoleRequest.clearedCookie(secure: secure)])
    }

    /// The organization and the projects the user can see.
    @Sendable func overview(_ call: ConsoleCall) async throws -> Response {
        let identity = call.pass.identity
        let organization = try await admin.organization(identity.organizationID, for: call.pass)
        let projects = try await admin.projects(for: call.pass)
        var user = ""
        if case .user(let id) = identity.kind { user = (try? await admin.user(id, for: call.pass))?.email ?? "" }
        let day = ISO8601DateFormatter.fullDate
        return ConsolePages.page("overview", [
            "title": organization.name,
            "organization": ["name": organization.name, "plan": organization.plan.rawValue, "paymentStatus": organization.paymentStatus],
            "role": identity.organizationRole?.rawValue ?? "",
            "user": user,
            "csrf": ConsoleRequest.sessionSecret(call.request).map { ConsoleSession.csrfToken(secret: $0) } ?? "",
            "hasProjects": !projects.isEmpty,
            "projects": projects.map { ["name": $0.name, "id": $0.id.lowercasedString, "created": day.string(from: $0.createdAt)] },
        ])
    }
}

/// Removes the console sessions that have ended by time (idle or past their absolute end), every hour; a session
/// that ends otherwise (sign-out, a user who left) is removed at once.
struct ConsoleSessionSweepService: Service {
    let admin: any AdminCatalog
    let policy: ConsoleSessionPolicy
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: .seconds(3600)) {
            do {
                _ = try await admin.removeEndedConsoleSessions(policy: policy, at: Date())
            } catch {
                logger.warning("could not remove ended console sessions", metadata: ["error": "\(error)"])
            }
        }
    }
}
