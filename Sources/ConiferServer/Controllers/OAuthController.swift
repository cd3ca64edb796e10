import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// `POST /oauth/token`: the OAuth client-credentials and password grants (and the authorization-code grant with
/// PKCE that finishes `conifer login --sso`), with a JSON or form body, and
/// `POST /oauth/accept-invite`. Answers in OAuth's own error shape.
///
/// Failed sign-ins are throttled per source address, and users' per account too, before any secret is checked
/// (429 with `Retry-After`), and each one is logged without the secret (names shaped like one are redacted).
/// Every sign-in that is checked, accepted or not, is an audit event (user login, service account token) stored
/// before the answer, except failures naming no existing account: of those only the first per source address
/// and window is recorded, so nobody without credentials can fill the audit log. Throttled ones are not
/// recorded either (the failures that led to the throttle are).
struct OAuthController {
    let admin: any AdminCatalog
    let tokens: TokenService
    let throttle: LoginThrottle
    let observer: any ActionObserver
    var unknownAccounts = UnknownAccountSignIns()

    func register(in routes: RouteTable) {
        routes.open(.post, "/oauth/token", rate: .source(.signin), audit: .byHandler("a sign-in names the account tried: user login or service account token, by grant type")) { request, context in try await token(request, context) }
        routes.open(.post, "/oauth/accept-invite", rate: .source(.signin), audit: .byHandler("accept invite: the token names the invite, not a caller")) { request, _ in try await acceptInvite(request) }
    }

    /// Accepts an invite: the one-time token from `POST /admin/invites` and the new user's password. Only an
    /// accepted invite is an event (a wrong token names nobody).
    func acceptInvite(_ request: Request) async throws -> Response {
        let body = try await RouteTable.decode(AcceptInviteRequestWire.self, from: request, limit: 64 * 1024, allowedKeys: nil)
        let user = try await acceptInvite(token: body.token, password: body.password, name: body.name, request: request, action: "POST /oauth/accept-invite")
        return try WireJSON.response(status: .ok, UserWire(user))
    }

    /// Accepts an invite (this route and the console's form) and records the new member's event.
    func acceptInvite(token: String, password: String, name: String?, request: Request, action: String) async throws -> UserInfo {
        let user = try await admin.acceptInvite(token: token, password: password, name: name)
        if let account = try await admin.signInAccount(email: user.email, clientID: nil) {
            try await observer.observe(ActionOutcome(
                actor: account.actor, action: action, kind: .acceptInvite, resource: [:], result: .succeeded,
                organizationID: account.organizationID, userAgent: request.headers[.userAgent] ?? "",
                details: ActionDetails(resourceID: .string(user.email), resourceName: user.name)
            ))
        }
        return user
    }

    func token(_ request: Request, _ context: ConiferRequestContext) async throws -> Response {
        var request = request
        let body = try await request.boundedBody(upTo: 64 * 1024)
        let text = String(buffer: body)
        let form: TokenRequestWire
        do {
            if request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                // A repeated field is refused, like a repeated JSON key: readers disagree on which one counts.
                let names = text.split(separator: "&").map { field in
                    let name = String(field.split(separator: "=", maxSplits: 1).first ?? "").replacingOccurrences(of: "+", with: " ")
                    return name.removingPercentEncoding ?? name
                }
                guard Set(names).count == names.count else { throw ConiferError.invalidArgument("repeated field") }
                form = try URLEncodedFormDecoder().decode(TokenRequestWire.self, from: text)
            } else {
                try WireJSON.requireUniqueKeys(Data(text.utf8))
                form = try JSONDecoder().decode(TokenRequestWire.self, from: Data(text.utf8))
            }
        } catch {
            return try Self.error(.badRequest, "invalid_request", "The token request is not valid JSON or form data.")
        }
        if let audience = form.audience, audience != TokenService.audience {
            return try Self.error(.forbidden, "access_denied", "Unknown audience.")
        }
        // Service accounts are throttled by source only (see LoginThrottle); users by account and source.
        let account: String?
        let signIn: SignIn
        switch form.grant_type {
        case "client_credentials":
            account = nil
            signIn = SignIn(kind: .serviceAccountToken, typed: form.client_id ?? "", name: Redaction.clientID(form.client_id ?? ""), request: request, context: context)
        case "password":
            account = "user:" + (form.username ?? "")
            signIn = SignIn(kind: .userLogin, typed: form.username ?? "", name: Redaction.email(form.username ?? ""), request: request, context: context)
        case "authorization_code":
            // The code names no account until it is redeemed; a failure is recorded as for an unknown account.
            account = nil
            signIn = SignIn(kind: .userLogin, typed: "", name: "", request: request, context: context)
        default: return try Self.error(.badRequest, "unsupported_grant_type", "grant_type must be client_credentials, password or authorization_code.")
        }
        let source = context.sourceAddress
        if let wait = throttle.retryAfter(account: account, source: source) {
            context.logger.notice("sign-in throttled", metadata: ["kind": "\(signIn.kind.name)", "account": "\(signIn.name)", "source": "\(source)"])
            var response = try Self.error(.tooManyRequests, "slow_down", "Too many failed sign-ins; retry after \(wait) seconds.")
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let authenticated: (Identity.Kind, Int)?
        do {
            authenticated = try await authenticate(form)
        } catch let error as ConiferError where error.code == .permissionDenied {
            // The password is right or wrong, but this account signs in through its identity provider only.
            try await record(signIn, .denied(.permissionDenied), reason: error.message)
            return try Self.error(.forbidden, "access_denied", error.message)
        }
        guard let (subject, generation) = authenticated else {
            throttle.recordFailure(account: account, source: source)
            context.logger.notice("failed sign-in", metadata: ["kind": "\(signIn.kind.name)", "account": "\(signIn.name)", "source": "\(source)"])
            try await record(signIn, .denied(.unauthenticated), reason: "Invalid credentials")
            return try Self.error(.unauthorized, "access_denied", "Unauthorized")
        }
        throttle.recordSuccess(account: account)
        let token = try await tokens.issue(for: subject, generation: generation)
        var signedIn = signIn
        if case .user(let id) = subject, form.grant_type == "authorization_code", let email = try await admin.email(ofUser: id) { signedIn.typed = email }
        try await record(signedIn, .succeeded)
        return try WireJSON.response(status: .ok, TokenResponseWire(access_token: token, expires_in: Int(TokenService.lifetime)))
    }

    /// One sign-in attempt, for its audit event: the account it names as it may be recorded (known or not, see
    /// `Redaction`) and where it came from.
    struct SignIn {
        var kind: AuditKind
        /// The name as typed: only looked up, never recorded.
        var typed: String
        /// The name as it may be recorded.
        var name: String
        var request: Request
        var context: ConiferRequestContext
        /// The route the attempt came through.
        var action = "POST /oauth/token"
    }

    /// Records a sign-in's event. A failure naming an account that does not exist is counted, not recorded, except
    /// the first of each window per source address (`UnknownAccountSignIns`).
    func record(_ signIn: SignIn, _ result: ActionOutcome.Result, reason: String? = nil) async throws {
        let user = signIn.kind == .userLogin
        let account = try await admin.signInAccount(email: user ? signIn.typed : nil, clientID: user ? nil : signIn.typed)
        var parameters: [String: JSONValue] = [:]
        if account == nil, case .denied = result {
            let counted = unknownAccounts.count(source: signIn.context.sourceAddress)
            guard counted.record else { return }
            parameters = [
                "source_address": .string(signIn.context.sourceAddress),
                "unknown_account_failures_before": .number(Double(counted.earlierUnrecorded)),
            ]
        }
        try await observer.observe(ActionOutcome(
            actor: account?.actor ?? .anonymous, action: signIn.action, resource: [:], result: result, reason: reason,
            organizationID: account?.organizationID, userAgent: signIn.request.headers[.userAgent] ?? "",
            // An existing account's own name is safe to record as typed; any other is recorded redacted.
            details: ActionDetails(kind: signIn.kind, resourceID: .string(account == nil ? signIn.name : signIn.typed), parameters: parameters)
        ))
    }

    /// The subject a grant's credentials prove, or nil when they prove nothing.
    private func authenticate(_ form: TokenRequestWire) async throws -> (Identity.Kind, Int)? {
        if form.grant_type == "client_credentials" {
            guard let clientID = form.client_id, let secret = form.client_secret,
                  let account = try await admin.authenticateServiceAccount(clientID: clientID, clientSecret: secret)
            else { return nil }
            return (.serviceAccount(account.id), account.generation)
        }
        if form.grant_type == "authorization_code" {
            guard let code = form.code, let verifier = form.code_verifier,
                  let user = try await admin.redeemSSOCode(code, verifier: verifier, now: Date()),
                  try await admin.identity(user: user.id, generation: user.generation) != nil
            else { return nil }
            return (.user(user.id), user.generation)
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
