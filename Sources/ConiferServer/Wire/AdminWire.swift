import ConiferAccess
import ConiferCore
import Foundation

// Admin API shapes (pinecone-api.md §4), snake_case.

struct ProjectWire: Encodable {
    var id: String
    var name: String
    var max_pods: Int
    var force_encryption_with_cmek: Bool
    /// Conifer's: the project's data plane answers only through its private endpoints.
    var private_endpoint_access_only: Bool
    var organization_id: String
    var created_at: Date
    /// Conifer's: the project's tags (`{}` when none).
    var tags: [String: String]

    init(_ project: ProjectInfo) {
        id = project.id.lowercasedString
        name = project.name
        max_pods = project.maxPods
        force_encryption_with_cmek = project.forceEncryptionWithCMEK
        private_endpoint_access_only = project.privateEndpointAccessOnly
        organization_id = project.organizationID.lowercasedString
        created_at = project.createdAt
        tags = project.tags
    }
}

struct OrganizationWire: Encodable {
    var id: String
    var name: String
    var plan: String
    var payment_status: String
    var created_at: Date
    var support_tier = "Enterprise"

    init(_ organization: OrganizationInfo) {
        id = organization.id.lowercasedString
        name = organization.name
        plan = organization.plan.wireName
        payment_status = organization.paymentStatus
        created_at = organization.createdAt
    }
}

struct APIKeyWire: Encodable {
    var id: String
    var name: String
    var project_id: String
    var roles: [String]
    var created_at: Date

    init(_ key: APIKeyInfo) {
        id = key.id.lowercasedString
        name = key.name
        project_id = key.projectID.lowercasedString
        roles = key.roles.map(\.rawValue)
        created_at = key.createdAt
    }
}

/// A project's customer-managed key; the external id is never shown.
struct CMEKKeyWire: Encodable {
    var id: String
    var name: String
    var role_arn: String?
    var key_arn: String
    var created_at: Date

    init(_ key: CMEKKey) {
        id = key.id.lowercasedString
        name = key.name
        role_arn = key.roleARN
        key_arn = key.keyARN
        created_at = key.createdAt
    }
}

struct CreateCMEKKeyRequestWire: AdminRequestWire {
    static let fields: Set<String> = ["name", "role_arn", "key_arn", "external_id"]

    var name: String
    var role_arn: String?
    var key_arn: String
    var external_id: String?
}

struct PrivateEndpointWire: Encodable {
    var id: String
    var name: String
    var region: String
    var vpc_endpoint_id: String?
    var allowed_cidrs: [String]?
    var project_id: String
    var created_at: Date

    init(_ endpoint: PrivateEndpoint) {
        id = endpoint.id.lowercasedString
        name = endpoint.name
        region = endpoint.region
        vpc_endpoint_id = endpoint.vpcEndpointID
        allowed_cidrs = endpoint.vpcEndpointID == nil ? endpoint.allowedCIDRs.map(\.description) : nil
        project_id = endpoint.projectID.lowercasedString
        created_at = endpoint.createdAt
    }
}

/// The request bodies below are public and Encodable too: the command-line client sends them as they are.
public struct CreatePrivateEndpointRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name", "region", "vpc_endpoint_id", "allowed_cidrs"]

    var name: String
    var region: String
    var vpc_endpoint_id: String?
    var allowed_cidrs: [String]?

    public init(name: String, region: String, vpc_endpoint_id: String?, allowed_cidrs: [String]?) {
        self.name = name
        self.region = region
        self.vpc_endpoint_id = vpc_endpoint_id
        self.allowed_cidrs = allowed_cidrs
    }
}

struct APIKeyWithSecretWire: Encodable {
    var key: APIKeyWire
    var value: String
}

struct ServiceAccountWire: Encodable {
    var id: String
    var name: String
    var client_id: String
    var created_at: Date
    var updated_at: Date

    init(_ account: ServiceAccountInfo) {
        id = account.id.lowercasedString
        name = account.name
        client_id = account.clientID
        created_at = account.createdAt
        updated_at = account.updatedAt
    }
}

struct ServiceAccountWithSecretWire: Encodable {
    var service_account: ServiceAccountWire
    var client_secret: String
}

struct DataListWire<Item: Encodable>: Encodable {
    var data: [Item]
}

public struct CreateProjectRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name", "max_pods", "force_encryption_with_cmek", "tags"]

    var name: String
    var max_pods: Int?
    var force_encryption_with_cmek: Bool?
    var tags: [String: String]?

    public init(name: String, max_pods: Int?, force_encryption_with_cmek: Bool?, tags: [String: String]? = nil) {
        self.name = name
        self.max_pods = max_pods
        self.force_encryption_with_cmek = force_encryption_with_cmek
        self.tags = tags
    }
}

public struct UpdateProjectRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name", "max_pods", "force_encryption_with_cmek", "private_endpoint_access_only", "tags"]

    var name: String?
    var max_pods: Int?
    var force_encryption_with_cmek: Bool?
    var private_endpoint_access_only: Bool?
    /// Tags to set; an empty value removes its tag.
    var tags: [String: String]?

    public init(name: String?, max_pods: Int?, private_endpoint_access_only: Bool?, tags: [String: String]? = nil) {
        self.name = name
        self.max_pods = max_pods
        self.private_endpoint_access_only = private_endpoint_access_only
        self.tags = tags
    }
}

public struct NameRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name"]

    var name: String?

    public init(name: String) { self.name = name }
}

/// `PATCH /admin/organizations/{id}/billing`: the whole contact, replaced.
public struct BillingRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["billing_contact"]

    var billing_contact: BillingContact?

    public init(billing_contact: BillingContact) { self.billing_contact = billing_contact }
}

/// An organization's billing details: its plan, whether a paid plan still lacks a contact, and the contact.
struct BillingWire: Encodable {
    var organization_id: String
    var plan: String
    var payment_status: String
    var billing_contact: BillingContact?

    init(_ details: BillingDetails) {
        organization_id = details.organization.id.lowercasedString
        plan = details.organization.plan.wireName
        payment_status = details.organization.paymentStatus
        billing_contact = details.contact
    }
}

public struct APIKeyRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name", "roles"]

    var name: String?
    var roles: [String]?

    public init(name: String?, roles: [String]?) {
        self.name = name
        self.roles = roles
    }

    func parsedRoles() throws(ConiferError) -> [APIKeyRole]? {
        guard let roles else { return nil }
        var parsed: [APIKeyRole] = []
        for role in roles {
            guard let value = APIKeyRole(rawValue: role) else {
                throw .invalidArgument("Unknown role '\(role.prefix(64))': expected one of \(APIKeyRole.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            parsed.append(value)
        }
        return parsed
    }
}

public struct CreateServiceAccountRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["name", "role_bindings"]

    var name: String
    var role_bindings: [RoleBindingInputWire]?

    public init(name: String, role_bindings: [RoleBindingInputWire]) {
        self.name = name
        self.role_bindings = role_bindings
    }

    /// The organization role among the bindings (OrgMember when none is given).
    func organizationRole() throws(ConiferError) -> OrganizationRole {
        let organizationBindings = (role_bindings ?? []).filter { $0.resource_type == "organization" }
        guard organizationBindings.count <= 1 else { throw .invalidArgument("A service account has one organization role.") }
        guard let binding = organizationBindings.first else { return .member }
        guard let role = OrganizationRole(rawValue: binding.role) else {
            throw .invalidArgument("Unknown organization role '\(binding.role.prefix(64))'.")
        }
        if (role_bindings ?? []).contains(where: { $0.resource_type != "organization" }) {
            throw .invalidArgument("Project role bindings for service accounts are not supported yet; bind organization roles only.")
        }
        return role
    }
}

/// The OAuth token request, from a JSON or form body.
public struct TokenRequestWire: Codable {
    var grant_type: String?
    var client_id: String?
    var client_secret: String?
    var audience: String?
    /// The password grant: a user's email and password.
    var username: String?
    var password: String?
    /// The authorization-code grant of `conifer login --sso`: the one-time code and the PKCE verifier.
    var code: String?
    var code_verifier: String?

    public static func clientCredentials(_ id: String, _ secret: String) -> TokenRequestWire {
        TokenRequestWire(grant_type: "client_credentials", client_id: id, client_secret: secret)
    }

    public static func authorizationCode(_ code: String, verifier: String) -> TokenRequestWire {
        TokenRequestWire(grant_type: "authorization_code", code: code, code_verifier: verifier)
    }

    public static func password(_ email: String, _ password: String) -> TokenRequestWire {
        TokenRequestWire(grant_type: "password", username: email, password: password)
    }
}

struct AcceptInviteRequestWire: Decodable {
    var token: String
    var password: String
    var name: String?
}

struct UserWire: Encodable {
    var id: String
    var email: String
    var name: String?
    var created_at: Date

    init(_ user: UserInfo) {
        id = user.id.lowercasedString
        email = user.email
        name = user.name
        created_at = user.createdAt
    }
}

struct InviteWire: Encodable {
    var id: String
    var email: String
    var status: String
    var role_bindings: [RoleBindingInputWire]
    var expires_at: Date
    var created_at: Date
    var processed_at: Date?
    /// Only in the answers to create and resend, when the server has no mail: the inviter passes this on.
    var token: String?

    init(_ invite: InviteInfo, token: String? = nil) {
        id = invite.id.lowercasedString
        email = invite.email
        status = invite.status.rawValue
        role_bindings = invite.roleBindings.map { RoleBindingInputWire(resource_type: $0.resourceType.rawValue, resource_id: $0.resourceID?.lowercasedString, role: $0.role) }
        expires_at = invite.expiresAt
        created_at = invite.createdAt
        processed_at = invite.processedAt
        self.token = token
    }
}

/// A role on the organization (no resource id) or on a project, as invites and service accounts name them.
public struct RoleBindingInputWire: Codable {
    var resource_type: String
    var resource_id: String?
    var role: String

    public static func organization(_ role: String) -> RoleBindingInputWire { RoleBindingInputWire(resource_type: "organization", role: role) }
    public static func project(_ id: String, _ role: String) -> RoleBindingInputWire {
        RoleBindingInputWire(resource_type: "project", resource_id: id, role: role)
    }
}

public struct CreateInviteRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["email", "role_bindings"]

    var email: String
    var role_bindings: [RoleBindingInputWire]

    public init(email: String, role_bindings: [RoleBindingInputWire]) {
        self.email = email
        self.role_bindings = role_bindings
    }

    func bindings() throws(ConiferError) -> [InviteBinding] {
        var result: [InviteBinding] = []
        for binding in role_bindings {
            guard let type = RoleBindingInfo.ResourceType(rawValue: binding.resource_type) else {
                throw .invalidArgument("resource_type must be organization or project.")
            }
            var id: UUID?
            if let raw = binding.resource_id {
                guard let parsed = UUID(uuidString: raw) else { throw .notFound("Resource \(raw.prefix(64)) not found.") }
                id = parsed
            }
            result.append(InviteBinding(resourceType: type, resourceID: id, role: binding.role))
        }
        return result
    }
}

struct TokenResponseWire: Encodable {
    var access_token: String
    var token_type = "Bearer"
    var expires_in: Int
}

/// OAuth errors have their own shape: `{"error":"access_denied","error_description":"Unauthorized"}`.
struct OAuthErrorWire: Encodable {
    var error: String
    var error_description: String
}

struct RoleBindingWire: Encodable {
    var id: String
    var principal_type: String
    var principal_id: String
    var resource_type: String
    var resource_id: String
    var role: String
    var created_at: Date

    init(_ binding: RoleBindingInfo) {
        id = binding.id.lowercasedString
        principal_type = binding.principalType.rawValue
        principal_id = binding.principalID.lowercasedString
        resource_type = binding.resourceType.rawValue
        resource_id = binding.resourceID.lowercasedString
        role = binding.role.rawValue
        created_at = binding.createdAt
    }
}

public struct CreateRoleBindingRequestWire: AdminRequestWire, Encodable {
    static let fields: Set<String> = ["principal_type", "principal_id", "resource_type", "resource_id", "role"]

    var principal_type: String
    var principal_id: String
    var resource_type: String
    var resource_id: String?
    var role: String

    public init(principal_type: String, principal_id: String, binding: RoleBindingInputWire) {
        self.principal_type = principal_type
        self.principal_id = principal_id
        resource_type = binding.resource_type
        resource_id = binding.resource_id
        role = binding.role
    }

    func principalType() throws(ConiferError) -> RoleBindingInfo.PrincipalType {
        guard let type = RoleBindingInfo.PrincipalType(rawValue: principal_type) else {
            throw .invalidArgument("principal_type must be service_account or user (API key roles are managed through /admin/api-keys).")
        }
        return type
    }

    func resourceType() throws(ConiferError) -> RoleBindingInfo.ResourceType {
        guard let type = RoleBindingInfo.ResourceType(rawValue: resource_type) else {
            throw .invalidArgument("resource_type must be organization or project.")
        }
        return type
    }
}

/// A JSON body of the Admin API. Its top-level fields are listed so that an unknown one is refused with
/// 400 instead of silently ignored (a misspelt `organization_role` must not quietly create an OrgMember).
protocol AdminRequestWire: Decodable {
    static var fields: Set<String> { get }
}
