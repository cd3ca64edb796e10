import ConiferCore
import ConiferSAML
import Crypto
import Foundation

/// Where `conifer login --sso` waits for its one-time code: a port on 127.0.0.1, and the PKCE challenge (RFC 7636,
/// S256: base64url of the SHA-256 of the verifier only the client holds).
public struct SSOCallback: Sendable, Equatable {
    public var port: Int
    public var challenge: String

    public init(port: Int, challenge: String) throws(ConiferError) {
        guard (1024...65535).contains(port) else { throw .invalidArgument("cli_port must be a port from 1024 to 65535.") }
        guard challenge.count == 43, challenge.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .invalidArgument("code_challenge must be the base64url SHA-256 of the verifier (43 characters).")
        }
        self.port = port
        self.challenge = challenge
    }

    /// The challenge of a verifier.
    public static func challenge(of verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// The result of a sign-in through the identity provider: the console session started (or, for the command-line
/// client, the loopback URL carrying its one-time code) and who it is for.
public struct SSOSignIn: Sendable {
    /// The console session's cookie secret; nil when the sign-in was the command-line client's.
    public var secret: String?
    /// `http://127.0.0.1:<port>/callback?code=…` for `conifer login --sso`.
    public var callbackURL: String?
    public var user: UserInfo
    /// Whether this sign-in created the user (just-in-time provisioning).
    public var provisioned: Bool
}

/// Why a sign-in through SAML was refused, with the email when the response was verified far enough to name one.
public struct SSORefusal: Error, CustomStringConvertible {
    public var email: String?
    public var reason: String
    public var description: String { reason }
}

/// SAML single sign-on: organization owners configure it (Standard and Enterprise, 402 on Starter); the ACS
/// verifies a response with the configured certificate and, in one transaction, consumes the AuthnRequest it
/// answers, records the assertion against replay, finds or provisions the user (with the default role) and
/// starts a console session. With enforcement on, password sign-in is refused for the organization's domains.
extension AdminService {
    /// How long an AuthnRequest may be answered, and a command-line client's code redeemed.
    public static let samlRequestLifetime: TimeInterval = 600
    public static let ssoCodeLifetime: TimeInterval = 120

    public func ssoSettings(organization id: UUID, for pass: AdminPass) async throws -> SSOSettings? {
        try Self.requireSSOOwner(id, pass.identity)
        return try await store.read { rows in
            _ = try Self.ssoOrganization(rows, id)
            return try rows.ssoSettings(organization: id)
        }
    }

    /// Sets (or replaces) the organization's settings. A domain may belong to one organization only.
    public func setSSOSettings(_ settings: SSOSettings, for pass: AdminPass) async throws -> SSOSettings {
        try Self.requireSSOOwner(settings.organizationID, pass.identity)
        var settings = settings
        settings.domains = settings.domains.map { $0.lowercased() }
        try settings.validate()
        do {
            settings.certificatePEM = try SAMLCertificate(pem: settings.certificatePEM).pem
        } catch {
            throw ConiferError.invalidArgument("certificate: \(error.description)")
        }
        let checked = settings
        return try await store.write { rows in
            let settings = checked
            _ = try Self.ssoOrganization(rows, settings.organizationID)
            let projects = Set(try rows.projects(organization: settings.organizationID).map(\.id))
            if let unknown = settings.defaultProjectRoles.keys.first(where: { !projects.contains($0) }) {
                throw ConiferError.invalidArgument("default_project_roles names project \(unknown.lowercasedString), which is not a project of the organization.")
            }
            for other in try rows.allSSOSettings() where other.organizationID != settings.organizationID {
                if let taken = other.domains.first(where: settings.domains.contains) {
                    throw ConiferError(.alreadyExists, "The domain \(taken) already signs in through another organization's identity provider.")
                }
            }
            try rows.save(settings)
            return settings
        }
    }

    /// Removes the organization's settings (nil when there were none: removing nothing is a no-op).
    public func deleteSSOSettings(organization id: UUID, for pass: AdminPass) async throws -> SSOSettings? {
        try Self.requireSSOOwner(id, pass.identity)
        return try await store.write { rows in
            _ = try Self.ssoOrganization(rows, id)
            let settings = try rows.ssoSettings(organization: id)
            try rows.deleteSSOSettings(organization: id)
            return settings
        }
    }

    /// Turns enforcement on or off: the operator's break-glass path (`conifer org sso-enforcement`), no pass.
    public func setSSOEnforced(_ enforced: Bool, organization id: UUID) async throws -> SSOSettings {
        try await store.write { rows in
            guard var settings = try rows.ssoSettings(organization: id) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) has no single sign-on.")
            }
            settings.enforced = enforced
            settings.updatedAt = Date()
            try rows.save(settings)
            return settings
        }
    }

    /// The settings of an organization in force, for its public SAML endpoints (the ACS). A system read.
    public func ssoSettings(organization id: UUID) async throws -> SSOSettings? {
        try await store.read { rows in try Self.activeSSOSettings(rows, id) }
    }

    /// The settings in force whose domains hold `email`'s domain (the SP-initiated flow starts from an email).
    public func ssoSettings(email: String) async throws -> SSOSettings? {
        try await store.read { rows in
            try rows.allSSOSettings().first { try $0.covers(email: email.lowercased()) && Self.activeSSOSettings(rows, $0.organizationID) != nil }
        }
    }

    /// An organization's settings while its plan has single sign-on (kept, but not in force, after a move to Starter).
    static func activeSSOSettings(_ rows: any CatalogRows, _ id: UUID) throws -> SSOSettings? {
        guard let organization = try rows.organization(id), organization.plan != .starter else { return nil }
        return try rows.ssoSettings(organization: id)
    }

    /// Starts an SP-initiated sign-in: an AuthnRequest, recorded so that only its answer is accepted, and the
    /// identity provider's URL that carries it.
    public func startSAMLSignIn(
        _ settings: SSOSettings, serviceProvider: SAMLServiceProvider, relayState: String, callback: SSOCallback?, now: Date = Date()
    ) async throws -> String {
        let request: (id: String, url: String)
        do {
            request = try serviceProvider.authnRequest(ssoURL: settings.ssoURL, relayState: relayState, now: now)
        } catch {
            throw ConiferError(.failedPrecondition, error.description)
        }
        try await store.write { rows in
            try rows.deleteExpiredSAMLState(now: now)
            try rows.insertSAMLRequest(
                id: request.id, organization: settings.organizationID, expiresAt: now.addingTimeInterval(Self.samlRequestLifetime), callback: callback
            )
        }
        return request.url
    }

    /// Verifies a response posted to the organization's ACS and signs its subject in. Every refusal is an
    /// `SSORefusal` (the caller records it); nothing is written unless the sign-in succeeds.
    public func signInWithSAML(
        organization id: UUID, response: String, serviceProvider: SAMLServiceProvider, policy: ConsoleSessionPolicy, now: Date = Date()
    ) async throws -> SSOSignIn {
        guard let settings = try await ssoSettings(organization: id) else {
            throw ConiferError.notFound("Organization \(id.lowercasedString) has no single sign-on.")
        }
        let assertion: SAMLAssertion
        do {
            let certificate = try SAMLCertificate(pem: settings.certificatePEM)
            let verifier = SAMLResponseVerifier(
                serviceProvider: serviceProvider, identityProvider: SAMLIdentityProvider(entityID: settings.idpEntityID, certificate: certificate)
            )
            assertion = try verifier.verify(base64: response, now: now)
        } catch {
            throw SSORefusal(email: nil, reason: error.description)
        }
        let refuse = { @Sendable (reason: String) in SSORefusal(email: assertion.email, reason: reason) }
        guard settings.covers(email: assertion.email) else {
            throw refuse("The email's domain is not one of the organization's single sign-on domains.")
        }
        let secret = ConsoleSession.newSecret()
        return try await store.write { rows in
            try rows.deleteExpiredSAMLState(now: now)
            var callback: SSOCallback?
            if let request = assertion.inResponseTo {
                guard let sent = try rows.takeSAMLRequest(id: request, organization: id, now: now) else {
                    throw refuse("The response answers no sign-in this server started (or one already answered or expired).")
                }
                callback = sent
            }
            guard try rows.recordSAMLAssertion(key: settings.idpEntityID + " " + assertion.id, organization: id, expiresAt: assertion.expiresAt) else {
                throw refuse("The assertion was already used (a replay).")
            }
            let existing = try rows.user(email: assertion.email)
            let user = existing ?? UserRow(id: UUID(), email: assertion.email, name: nil, passwordHash: nil, passwordGeneration: 1, createdAt: now)
            let provisioned = existing == nil
            if provisioned { try rows.save(user) }
            let member = try !rows.roleBindings(BindingQuery(principalType: .user, principalID: user.id, resourceType: .organization, resourceID: id)).isEmpty
            if !member {
                guard try rows.roleBindings(BindingQuery(principalType: .user, principalID: user.id, resourceType: .organization)).isEmpty else {
                    throw refuse("The user belongs to another organization.")
                }
                try Self.bind(rows, .user(user.id), resourceType: .organization, resourceID: id, role: .organization(settings.defaultRole))
                let projects = Set(try rows.projects(organization: id).map(\.id))
                for (project, role) in settings.defaultProjectRoles where projects.contains(project) {
                    try Self.bind(rows, .user(user.id), resourceType: .project, resourceID: project, role: .project(role))
                }
            }
            if let callback {
                // The command-line client's sign-in: a one-time code for its loopback, redeemed with the PKCE verifier.
                try rows.insertSSOCode(
                    hash: APIKeySecret.hash(secret), user: user.id, challenge: callback.challenge, expiresAt: now.addingTimeInterval(Self.ssoCodeLifetime)
                )
                let url = "http://127.0.0.1:\(callback.port)/callback?code=\(secret)"
                return SSOSignIn(secret: nil, callbackURL: url, user: try Self.info(user), provisioned: provisioned)
            }
            try rows.save(ConsoleSession(
                secretHash: APIKeySecret.hash(secret), userID: user.id, passwordGeneration: user.passwordGeneration, createdAt: now,
                lastSeenAt: now, expiresAt: now.addingTimeInterval(policy.absolute)
            ))
            return SSOSignIn(secret: secret, callbackURL: nil, user: try Self.info(user), provisioned: provisioned)
        }
    }

    /// Redeems a command-line client's one-time code with its PKCE verifier: the user it signs in, once.
    public func redeemSSOCode(_ code: String, verifier: String, now: Date = Date()) async throws -> (id: UUID, generation: Int)? {
        guard APIKeySecret.isPlausible(code), (43...128).contains(verifier.count) else { return nil }
        return try await store.write { rows in
            guard let taken = try rows.takeSSOCode(hash: APIKeySecret.hash(code), now: now),
                  APIKeySecret.constantTimeEquals(taken.challenge, SSOCallback.challenge(of: verifier)),
                  let user = try rows.user(taken.user)
            else { return nil }
            return (user.id, user.passwordGeneration)
        }
    }

    /// A user's email, to name a sign-in by code in its audit event. A system read.
    public func email(ofUser id: UUID) async throws -> String? {
        try await store.read { rows in try rows.user(id)?.email }
    }

    /// Refuses a password sign-in of a member of an organization that enforces single sign-on for the user's
    /// domain (another organization's claim on the domain does not lock its users out).
    static func requirePasswordAllowed(_ rows: any CatalogRows, user: UserRow) throws {
        for binding in try rows.roleBindings(BindingQuery(principalType: .user, principalID: user.id, resourceType: .organization)) {
            if let settings = try activeSSOSettings(rows, binding.resourceID), settings.enforced, settings.covers(email: user.email) {
                throw ConiferError(.permissionDenied, "This organization requires single sign-on: sign in through your identity provider.")
            }
        }
    }

    /// Only the organization's owners see and change its single sign-on.
    private static func requireSSOOwner(_ id: UUID, _ identity: Identity) throws(ConiferError) {
        try requireOwn(id, identity)
        try identity.require(.organizationWrite)
    }

    private static func ssoOrganization(_ rows: some CatalogRows, _ id: UUID) throws -> OrganizationRow {
        guard let row = try rows.organization(id) else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
        guard row.plan != .starter else { throw ConiferError(.paymentRequired, "Single sign-on needs the Standard or Enterprise plan.") }
        return row
    }
}
