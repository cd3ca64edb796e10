import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// `POST /oauth/token`: the OAuth client-credentials and password grants, with a JSON or form body, and
/// `POST /oauth/accept-invite`. Answers in OAuth's own error shape.
///
/// Failed sign-ins are throttled per account and per source address before any secret is checked
/// (429 with `Retry-After`), and each one is logged without the secret. Every sign-in that is checked, accepted
/// or not, is an audit event (user login, service account token) stored before the answer; throttled ones are
/// not (the failures that led to the throttle are), so a flood of them cannot fill the audit spool.
struct OAuthController {
    let admin: any AdminCatalog
    let tokens: TokenService
    let throttle: LoginThrottle
    let observer: any ActionObserver

    func register(in routes: RouteTable) {
        routes.open(.post, "/oauth/token", rate: .source(.signin)) { request, context in try await token(request, context) }
        routes.open(.post, "/oauth/accept-invite", rate: .source(.signin)) { request, _ in try await acceptInvite(request) }
    }

    /// Accepts an invite: the one-time token from `POST /admin/invites` and the new user's password. Only an
    /// accepted invite is an event (a wrong token names nobody).
    func acceptInvite(_ request: Request) async throws -> Response {
        let body = try await RouteTable.decode(AcceptInviteRequestWire.self, from: request, limit: 64 * 1024, allowedKeys: nil)
        let user = try await admin.acceptInvite(token: body.token, password: body.password, name: body.name)
        if let account = try await admin.signInAccount(email: user.email, clientID: nil) {
            try await observer.observe(ActionOutcome(
                actor: account.actor, action: "POST /oauth/accept-invite", resource: [:], result: .succeeded,
                organizationID: account.organizationID, userAgent: request.headers[.userAgent] ?? "",
                details: ActionDetails(kind: "accept invite", resourceID: .string(user.email), resourceName: user.name)
            ))
        }
        return try WireJSON.response(status: .ok, UserWire(user))
    }

    func token(_ request: Request, _ context: ConiferRequestContext) async throws -> Response {
        var request = request
        let body = try await request.boundedBody(upTo: 64 * 1024)
        let text = String(buffer: body)
        let form: TokenRequestWire
        do {
            if request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                form = try URLEncodedFormDecoder().decode(TokenRequestWire.self, from: text)
            } else {
                form = try JSONDecoder().decode(TokenRequestWire.self, from: Data(text.utf8))
            }
        } catch {
            return try Self.error(.badRequest, "invalid_request", "The token request is not valid JSON or form data.")
        }
        if let audience = form.audience, audience != TokenService.audience {
            return try Self.error(.forbidden, "access_denied", "Unknown audience.")
        }
        let account: String
        let signIn: SignIn
        switch form.grant_type {
        case "client_credentials":
            account = "client:" + (form.client_id ?? "")
            signIn = SignIn(kind: "service account token", name: form.client_id ?? "", request: request, admin: admin, observer: observer)
        case "password":
            account = "user:" + (form.username ?? "")
            signIn = SignIn(kind: "user login", name: form.username ?? "", request: request, admin: admin, observer: observer)
        default: return try Self.error(.badRequest, "unsupported_grant_type", "grant_type must be client_credentials or password.")
        }
        let source = context.sourceAddress
        if let wait = throttle.retryAfter(account: account, source: source) {
            context.logger.notice("sign-in throttled", metadata: ["account": "\(account.prefix(200))", "source": "\(source)"])
            var response = try Self.error(.tooManyRequests, "slow_down", "Too many failed sign-ins; retry after \(wait) seconds.")
            response.headers[.retryAfter] = String(wait)
            return response
        }
        guard let (subject, generation) = try await authenticate(form) else {
            throttle.recordFailure(account: account, source: source)
            context.logger.notice("failed sign-in", metadata: ["grant": "\(form.grant_type ?? "")", "account": "\(account.prefix(200))", "source": "\(source)"])
            try await signIn.record(.denied(.unauthenticated), reason: "Invalid credentials")
            return try Self.error(.unauthorized, "access_denied", "Unauthorized")
        }
        throttle.recordSuccess(account: account)
        let token = try await tokens.issue(for: subject, generation: generation)
        try await signIn.record(.succeeded)
        return try WireJSON.response(status: .ok, TokenResponseWire(access_token: token, expires_in: Int(TokenService.lifetime)))
    }

    /// One sign-in attempt, for its audit event: the account it names (known or not) and how it ended.
    struct SignIn {
        var kind: String
        var name: String
        var request: Request
        var admin: any AdminCatalog
        var observer: any ActionObserver

        func record(_ result: ActionOutcome.Result, reason: String? = nil) async throws {
            let name = String(name.prefix(256))
            let account = try await admin.signInAccount(email: kind == "user login" ? name : nil, clientID: kind == "user login" ? nil : name)
            try await observer.observe(ActionOutcome(
                actor: account?.actor ?? .anonymous, action: "POST /oauth/token", resource: [:], result: result, reason: reason,
                organizationID: account?.organizationID, userAgent: request.headers[.userAgent] ?? "",
                details: ActionDetails(kind: kind, resourceID: .string(name))
            ))
        }
    }

    /// The subject a grant's credentials prove, or nil when they prove nothing.
    private func authenticate(_ form: TokenRequestWire) async throws -> (Identity.Kind, Int)? {
        if form.grant_type == "client_credentials" {
            guard let clientID = form.client_id, let secret = form.client_secret,
                  let account = try await admin.authenticateServiceAccount(clientID: clientID, clientSecret: secret)
            else { return nil }
            return (.serviceAccount(account.id), account.generation)
        }
        guard let email = form.username, let password = form.password,
              let user = try await admin.authenticateUser(email: email, password: password),
              try await admin.identity(user: user.id, generation: user.generation) != nil
        else { return nil }
        return (.user(user.id), user.generation)
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ description: String) throws -> Response {
        try WireJSON.response(status: status, OAuthErrorWire(error: code, error_description: description))
    }
}
