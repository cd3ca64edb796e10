import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The web console at `/console`: sign-in by email and password (throttled and audited as `/oauth/token`'s
/// password grant is), sign-out, and the pages, each calling the same services — through the Admin API's own
/// controllers, so a form is named in the audit log as its route is — with the signed-in user's identity. Routes
/// are in the permission table; their caller is the session cookie's user. Pages show only the forms the user's
/// role allows, and the routes refuse the rest as the Admin API does.
struct ConsoleController {
    let admin: any AdminCatalog
    /// The token endpoint's throttle and sign-in events, shared so both ways in count the same failures.
    let signIns: OAuthController
    let projects: ProjectsController
    let members: MembersController
    /// Renaming and deleting the organization.
    let organizations: OrganizationsController
    let indexes: IndexService
    /// Backups and restore jobs, through the API controller's own operations.
    let backups: BackupsController
    /// Backup schedules, through the API controller's own operations.
    let schedules: BackupSchedulesController
    let spendAlerts: SpendAlertsController
    let auditLog: AuditController
    /// Single sign-on settings, through the API controller's own operation.
    let sso: SSOController
    /// The prices the usage report costs at.
    let prices: PriceList
    /// The data plane's service and rate limits, for the query tool and an index's statistics.
    let dataPlane: DataPlaneController
    let policy: ConsoleSessionPolicy
    /// Whether the server speaks TLS (the cookie is then `Secure`).
    let secure: Bool

    func register(in routes: RouteTable) {
        routes.open(.get, "/console/style.css", rate: .exempt("a constant stylesheet")) { _, _ in
            var headers = ConsolePages.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        routes.open(.get, "/console/sign-in", rate: .source(.signin)) { request, _ in
            var values: [String: Any] = ["title": "Sign in"]
            if request.uri.queryParameters["accepted"] != nil { values["notice"] = "Your account is ready: sign in." }
            return ConsolePages.page("sign-in", values)
        }
        routes.open(.post, "/console/sign-in", rate: .source(.signin), audit: .byHandler("a sign-in names the account tried: user login")) { request, context in
            try await signIn(request, context)
        }
        routes.open(.get, "/console/accept-invite", rate: .source(.signin)) { request, _ in
            ConsolePages.page("accept-invite", ["title": "Accept your invitation", "token": request.uri.queryParameters["token"].map(String.init) ?? ""])
        }
        routes.open(.post, "/console/accept-invite", rate: .source(.signin), audit: .byHandler("accept invite: the token names the invite, not a caller")) { request, _ in
            try ConsoleRequest.requireSameOrigin(request)
            let form = try await ConsoleRequest.form(request)
            let name = form["name"].flatMap { $0.isEmpty ? nil : $0 }
            _ = try await signIns.acceptInvite(
                token: form["token"] ?? "", password: form["password"] ?? "", name: name, request: request, action: "POST /console/accept-invite"
            )
            return ConsolePages.redirect(to: "/console/sign-in?accepted=1")
        }
        routes.console(.post, "/console/sign-out", .authenticated, audit: .kind(.userLogout), handler: signOut)
        routes.console(.get, "/console", .organization(.organizationRead), handler: overview)
        registerOrganizationPages(in: routes)
        registerProjectPages(in: routes)
        registerIndexPages(in: routes)
        registerBackupPages(in: routes)
        registerBillingPages(in: routes)
        registerAuditPages(in: routes)
        registerSSOPages(in: routes)
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
        let authenticated: (id: UUID, generation: Int)?
        do {
            authenticated = try await admin.authenticateUser(email: email, password: form["password"] ?? "")
        } catch let error as ConiferError where error.code == .permissionDenied {
            try await signIns.record(attempt, .denied(.permissionDenied), reason: error.message)
            return ConsolePages.page("sign-in", ["title": "Sign in", "ssoEmail": email, "message": error.message], status: .forbidden)
        }
        guard let user = authenticated,
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

    /// The console's origin as the browser named it (links the page hands out).
    func origin(of request: Request) -> String {
        (secure ? "https://" : "http://") + (request.head.authority ?? "localhost")
    }

    /// What every signed-in page shows: the organization, the user, the session's CSRF token for its forms, and
    /// the navigation the user's role opens (`current` names the page's own entry).
    func layout(_ call: ConsoleCall, title: String, current: String? = nil) async throws -> [String: Any] {
        let identity = call.pass.identity
        let organization = try await admin.organization(identity.organizationID, for: call.pass)
        var user = ""
        if case .user(let id) = identity.kind { user = (try? await admin.user(id, for: call.pass))?.email ?? "" }
        var values: [String: Any] = [
            "title": title,
            "organization": ["name": organization.name, "plan": organization.plan.rawValue, "paymentStatus": organization.paymentStatus],
            "user": user,
            "role": identity.organizationRole?.rawValue ?? "",
            "csrf": ConsoleRequest.sessionSecret(call.request).map { ConsoleSession.csrfToken(secret: $0) } ?? "",
            "canMembers": identity.organizationPermissions.contains(.membersRead),
            "canServiceAccounts": identity.organizationPermissions.contains(.serviceAccountsRead),
            "canBilling": identity.organizationPermissions.contains(.billingRead),
            "canAudit": identity.organizationPermissions.contains(.auditLogRead),
            "canSSO": identity.organizationPermissions.contains(.organizationWrite),
        ]
        if let current { values["nav" + current] = true }
        return values
    }

    /// The organization and the projects the user can see, with the form to create one.
    @Sendable func overview(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Overview", current: "Overview")
        let projects = try await admin.projects(for: call.pass)
        values["hasProjects"] = !projects.isEmpty
        values["projects"] = projects.map { ["name": $0.name, "id": $0.id.lowercasedString, "created": ConsolePages.date($0.createdAt)] }
        values["canCreateProject"] = call.pass.identity.organizationPermissions.contains(.projectsCreate)
        values["canRename"] = call.pass.identity.organizationPermissions.contains(.organizationWrite)
        values["canDelete"] = call.pass.identity.organizationPermissions.contains(.organizationDelete)
        return ConsolePages.page("overview", values)
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
