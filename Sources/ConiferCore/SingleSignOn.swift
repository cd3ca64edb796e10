import Foundation

/// An organization's SAML single sign-on: the identity provider it trusts (entity id, SSO URL, the PEM
/// certificate that signs its assertions), the email domains whose users sign in through it, whether password
/// sign-in is refused for them (`enforced`), and the organization role (and any project roles) of a user who first
/// arrives through it.
public struct SSOSettings: Sendable, Equatable {
    public var organizationID: UUID
    public var idpEntityID: String
    public var ssoURL: String
    public var certificatePEM: String
    /// Lowercase domains, e.g. `corp.example`.
    public var domains: [String]
    public var enforced: Bool
    public var defaultRole: OrganizationRole
    /// Project roles a user who first arrives through SSO also gets (projects of the organization).
    public var defaultProjectRoles: [UUID: ProjectRole]
    public var updatedAt: Date

    public init(
        organizationID: UUID, idpEntityID: String, ssoURL: String, certificatePEM: String, domains: [String], enforced: Bool,
        defaultRole: OrganizationRole, defaultProjectRoles: [UUID: ProjectRole] = [:], updatedAt: Date
    ) {
        self.organizationID = organizationID
        self.idpEntityID = idpEntityID
        self.ssoURL = ssoURL
        self.certificatePEM = certificatePEM
        self.domains = domains
        self.enforced = enforced
        self.defaultRole = defaultRole
        self.defaultProjectRoles = defaultProjectRoles
        self.updatedAt = updatedAt
    }

    public static let maxDomains = 50

    /// Whether `email` is in one of the domains (exactly; a subdomain is not).
    public func covers(email: String) -> Bool {
        guard let domain = Self.domain(of: email) else { return false }
        return domains.contains(domain)
    }

    public static func domain(of email: String) -> String? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        return String(email[email.index(after: at)...]).lowercased()
    }

    /// Checks what the settings' owner typed (the certificate is checked by the SAML module).
    public func validate() throws(ConiferError) {
        guard !idpEntityID.isEmpty, idpEntityID.count <= 1024, !idpEntityID.contains(where: \.isNewline) else {
            throw .invalidArgument("idp_entity_id must be 1 to 1024 characters on one line.")
        }
        guard ssoURL.count <= 2048, let url = URL(string: ssoURL), ["https", "http"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
              url.fragment == nil
        else { throw .invalidArgument("sso_url must be an absolute https:// (or http://) URL without a fragment.") }
        guard !domains.isEmpty, domains.count <= Self.maxDomains else {
            throw .invalidArgument("domains must list 1 to \(Self.maxDomains) email domains.")
        }
        for domain in domains {
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            let valid = domain.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
                (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
            }
            guard valid else { throw .invalidArgument("'\(domain.prefix(100))' is not an email domain (lowercase, e.g. corp.example).") }
        }
        guard Set(domains).count == domains.count else { throw .invalidArgument("domains lists a domain twice.") }
        // Whoever controls the identity provider would otherwise own the organization.
        guard defaultRole != .owner else { throw .invalidArgument("default_role cannot be OrgOwner; promote owners one by one.") }
    }
}
