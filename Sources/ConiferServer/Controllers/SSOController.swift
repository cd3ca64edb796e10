import ConiferAccess
import ConiferCore
import ConiferSAML
import Foundation
import Hummingbird

/// SAML single sign-on. The settings at `/admin/organizations/{organization_id}/sso` (owners only; Standard and
/// Enterprise); the service provider's public endpoints per organization: its metadata at
/// `GET /saml/{organization_id}/metadata` and its assertion consumer service at `POST /saml/{organization_id}/acs`
/// (HTTP-POST binding: `SAMLResponse`, `RelayState`); and the console's SP-initiated start, `GET /console/sso?email=`,
/// which finds the organization by the email's domain and sends the browser on to its identity provider (for
/// `conifer login --sso` also with `cli_port` and `code_challenge`: the ACS then sends the browser to the client's
/// loopback with a one-time code, which `/oauth/token` exchanges for a token with the PKCE verifier).
///
/// Every response posted to the ACS of an organization with SSO is an audit event (user login): a refusal with
/// its reason, a sign-in with the user (and whether it was just provisioned).
struct SSOController {
    let admin: any AdminCatalog
    let observer: any ActionObserver
    let hosts: IndexHosts
    let policy: ConsoleSessionPolicy
    /// Whether the server speaks TLS (the session cookie is then `Secure`).
    let secure: Bool

    static let acsAction = "POST /saml/:organization_id/acs"

    func register(in routes: RouteTable) {
        let path = "/admin/organizations/:organization_id/sso"
        routes.admin(.get, path, .organization(.organizationWrite), handler: show)
        routes.admin(.put, path, .organization(.organizationWrite), audit: .kind(.updateSSO), handler: set)
        routes.admin(.delete, path, .organization(.organizationWrite), audit: .kind(.removeSSO), handler: remove)
        routes.open(.get, "/saml/:organization_id/metadata", rate: .source(.signin)) { _, context in
            let id = try context.uuidParameter("organization_id", notFound: "Organization")
            var headers = ConsolePages.securityHeaders
            headers[.contentType] = "application/samlmetadata+xml; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: serviceProvider(id).metadata)))
        }
        routes.open(.post, "/saml/:organization_id/acs", rate: .source(.signin), audit: .byHandler("a sign-in through the identity provider: user login")) { request, context in
            try await consume(request, context)
        }
        routes.open(.get, "/console/sso", rate: .source(.signin)) { request, _ in try await start(request) }
    }

    /// This server as the service provider of one organization.
    func serviceProvider(_ organization: UUID) -> SAMLServiceProvider {
        let base = "\(hosts.currentOrigin)/saml/\(organization.lowercasedString)"
        return SAMLServiceProvider(entityID: "\(base)/metadata", acsURL: "\(base)/acs")
    }

    @Sendable func show(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let settings = try await admin.ssoSettings(organization: id, for: call.pass)
        return try WireJSON.response(status: .ok, SSOSettingsWire(settings, serviceProvider: serviceProvider(id)))
    }

    @Sendable func set(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let settings = try await set(organization: id, try await call.decode(SSOSettingsRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .ok, SSOSettingsWire(settings, serviceProvider: serviceProvider(id)))
    }

    /// Sets the organization's SSO, named in the call's audit event (this route and the console's form).
    func set(organization id: UUID, _ body: SSOSettingsRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> SSOSettings {
        guard let entityID = body.idp_entity_id, let ssoURL = body.sso_url, let certificate = body.certificate, let domains = body.domains else {
            throw ConiferError.invalidArgument("idp_entity_id, sso_url, certificate and domains are required.")
        }
        context.audit(id: .string(entityID), ["enforced": .bool(body.enforced ?? false), "domains": .array(domains.map(JSONValue.string))])
        let role = try body.default_role.map { name throws(ConiferError) in
            guard let role = OrganizationRole(rawValue: name) else {
                throw .invalidArgument("default_role must be one of OrgMember, OrgManager, OrgBillingAdmin.")
            }
            return role
        } ?? .member
        var projectRoles: [UUID: ProjectRole] = [:]
        for binding in body.default_project_roles ?? [] {
            guard let project = UUID(uuidString: binding.project_id) else { throw ConiferError.invalidArgument("default_project_roles: project_id must be a project id.") }
            guard let role = ProjectRole(rawValue: binding.role) else {
                throw ConiferError.invalidArgument("default_project_roles: role must be ProjectOwner, ProjectManager or ProjectMember.")
            }
            guard projectRoles.updateValue(role, forKey: project) == nil else { throw ConiferError.invalidArgument("default_project_roles names a project twice.") }
        }
        return try await admin.setSSOSettings(
            SSOSettings(
                organizationID: id, idpEntityID: entityID, ssoURL: ssoURL, certificatePEM: certificate, domains: domains,
                enforced: body.enforced ?? false, defaultRole: role, defaultProjectRoles: projectRoles, updatedAt: Date()
            ),
            for: pass
        )
    }

    @Sendable func remove(_ call: AdminCall) async throws -> Response {
        try await remove(organization: try call.uuid("organization_id", notFound: "Organization"), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Removes the organization's SSO (nothing to remove is a no-op), named in the call's audit event (this route and
    /// the console's form).
    func remove(organization id: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        if let removed = try await admin.deleteSSOSettings(organization: id, for: pass) { context.audit(id: .string(removed.idpEntityID)) }
    }

    /// The SP-initiated start: the email's organization's identity provider, with an AuthnRequest.
    func start(_ request: Request) async throws -> Response {
        let email = (request.uri.queryParameters["email"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard let settings = try await admin.ssoSettings(email: email) else {
            return ConsolePages.page(
                "sign-in", ["title": "Sign in", "ssoEmail": email, "message": "No organization signs in with single sign-on for that email's domain."],
                status: .notFound
            )
        }
        // `conifer login --sso`: the client's loopback port and PKCE challenge, kept with the request.
        let query = request.uri.queryParameters
        var callback: SSOCallback?
        if let port = query["cli_port"] {
            guard let number = Int(port) else { throw ConiferError.invalidArgument("cli_port must be a port number.") }
            callback = try SSOCallback(port: number, challenge: query["code_challenge"].map(String.init) ?? "")
        }
        let url = try await admin.startSAMLSignIn(
            settings, serviceProvider: serviceProvider(settings.organizationID), relayState: "/console", callback: callback, now: Date()
        )
        // A page that moves on by itself rather than a redirect: the sign-in form's CSP (form-action 'self') would
        // block a redirect of its submission to another site.
        return ConsolePages.page("to-identity-provider", ["title": "Single sign-on", "url": url])
    }

    /// The ACS: verifies the posted response and starts a console session. The browser arrives here from the
    /// identity provider's site, so the answer is a page that moves on to the console itself (a redirect would
    /// keep the cross-site navigation, and the SameSite=Strict cookie would not be sent with it).
    func consume(_ request: Request, _ context: ConiferRequestContext) async throws -> Response {
        let id = try context.uuidParameter("organization_id", notFound: "Organization")
        let form = try await ConsoleRequest.form(request)
        guard let response = form["SAMLResponse"], !response.isEmpty else {
            throw ConiferError.invalidArgument("The form has no SAMLResponse.")
        }
        let userAgent = request.headers[.userAgent] ?? ""
        do {
            let signIn = try await admin.signInWithSAML(organization: id, response: response, serviceProvider: serviceProvider(id), policy: policy, now: Date())
            try await observer.observe(ActionOutcome(
                actor: .user(signIn.user.id), action: Self.acsAction, resource: [:], result: .succeeded, organizationID: id, userAgent: userAgent,
                details: ActionDetails(kind: .userLogin, resourceID: .string(signIn.user.email), parameters: ["method": .string("saml"), "provisioned": .bool(signIn.provisioned)])
            ))
            guard let secret = signIn.secret else {
                // The command-line client's sign-in: its loopback receives the one-time code.
                return ConsolePages.page("signed-in", ["title": "Signed in", "next": signIn.callbackURL ?? "/console", "cli": true])
            }
            let next = Self.localConsolePath(form["RelayState"])
            return ConsolePages.page(
                "signed-in", ["title": "Signed in", "next": next],
                headers: [.setCookie: ConsoleRequest.sessionCookie(secret, secure: secure, maxAge: policy.absolute)]
            )
        } catch let refusal as SSORefusal {
            try await observer.observe(ActionOutcome(
                actor: .anonymous, action: Self.acsAction, resource: [:], result: .denied(.unauthenticated), reason: refusal.reason,
                organizationID: id, userAgent: userAgent,
                details: ActionDetails(kind: .userLogin, resourceID: .string(refusal.email.map(Redaction.email) ?? ""), parameters: ["method": .string("saml")])
            ))
            context.logger.notice("refused SAML sign-in", metadata: ["organization": "\(id.lowercasedString)", "reason": "\(refusal.reason)"])
            return ConsolePages.page("sign-in", ["title": "Sign in", "message": "Single sign-on failed: \(refusal.reason)"], status: .forbidden)
        }
    }

    /// Where to go after signing in: a path of the console, never another site.
    static func localConsolePath(_ relayState: String?) -> String {
        guard let relayState, relayState.hasPrefix("/console"), !relayState.hasPrefix("//"),
              !relayState.contains("\\"), !relayState.contains(where: { $0.isWhitespace || $0.isNewline }), relayState.count <= 512
        else { return "/console" }
        return relayState
    }
}

/// A project role of new SSO users, as the API names it.
public struct SSOProjectRoleWire: Codable, Sendable {
    var project_id: String
    var role: String

    public init(project_id: String, role: String) {
        self.project_id = project_id
        self.role = role
    }
}

public struct SSOSettingsRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["idp_entity_id", "sso_url", "certificate", "domains", "enforced", "default_role", "default_project_roles"]

    var idp_entity_id: String?
    var sso_url: String?
    var certificate: String?
    var domains: [String]?
    var enforced: Bool?
    var default_role: String?
    var default_project_roles: [SSOProjectRoleWire]?

    public init(
        idp_entity_id: String?, sso_url: String?, certificate: String?, domains: [String]?, enforced: Bool?, default_role: String?,
        default_project_roles: [SSOProjectRoleWire]? = nil
    ) {
        self.idp_entity_id = idp_entity_id
        self.sso_url = sso_url
        self.certificate = certificate
        self.domains = domains
        self.enforced = enforced
        self.default_role = default_role
        self.default_project_roles = default_project_roles
    }
}

/// The settings as the API shows them: what to copy into the identity provider (SP entity id, ACS URL,
/// metadata URL) always; what was configured, when it was.
struct SSOSettingsWire: Encodable {
    var sp_entity_id: String
    var acs_url: String
    var metadata_url: String
    var configured: Bool
    var idp_entity_id: String?
    var sso_url: String?
    var certificate: String?
    var certificate_fingerprint_sha256: String?
    var certificate_not_after: Date?
    var domains: [String]
    var enforced: Bool
    var default_role: String?
    var default_project_roles: [SSOProjectRoleWire]
    var updated_at: Date?

    init(_ settings: SSOSettings?, serviceProvider: SAMLServiceProvider) {
        sp_entity_id = serviceProvider.entityID
        acs_url = serviceProvider.acsURL
        metadata_url = serviceProvider.entityID
        configured = settings != nil
        idp_entity_id = settings?.idpEntityID
        sso_url = settings?.ssoURL
        certificate = settings?.certificatePEM
        let parsed = settings.flatMap { try? SAMLCertificate(pem: $0.certificatePEM) }
        certificate_fingerprint_sha256 = parsed?.fingerprint
        certificate_not_after = parsed?.notValidAfter
        domains = settings?.domains ?? []
        enforced = settings?.enforced ?? false
        default_role = settings?.defaultRole.rawValue
        default_project_roles = (settings?.defaultProjectRoles ?? [:]).sorted { $0.key.lowercasedString < $1.key.lowercasedString }
            .map { SSOProjectRoleWire(project_id: $0.key.lowercasedString, role: $0.value.rawValue) }
        updated_at = settings?.updatedAt
    }
}
