import ConiferCore
import ConiferSAML
import Foundation

public struct ProjectInfo: Sendable, Equatable {
    public var id: UUID
    public var organizationID: UUID
    public var name: String
    public var maxPods: Int
    public var forceEncryptionWithCMEK: Bool
    /// The data plane of the project's indexes answers only through its private endpoints.
    public var privateEndpointAccessOnly: Bool
    public var createdAt: Date
    /// Key/value labels (index tag rules), shown in usage reports.
    public var tags: [String: String] = [:]
}

/// A project's customer-managed encryption key: a key in AWS KMS that wraps the data keys of the project's
/// indexes, reached through `roleARN` (assumed with `externalID`) when one is given. Fixed once set.
public struct CMEKKey: Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var name: String
    public var roleARN: String?
    public var keyARN: String
    /// Never shown by the Admin API; stored sealed.
    public var externalID: String?
    public var createdAt: Date
}

/// An organization that was deleted, and the ids of the indexes deleted with it (whose files the caller
/// retires: data key destroyed at once, files purged after the window).
public struct DeletedOrganization: Sendable {
    public var organization: OrganizationInfo
    public var indexIDs: [UUID]
    /// Its backups, whose data keys went with their rows; the caller removes their files.
    public var backupIDs: [UUID] = []
}

public struct OrganizationInfo: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var plan: Plan
    public var createdAt: Date
    /// Whether the organization has what billing needs: a paid plan without a billing contact is `PaymentPending`;
    /// otherwise `Active` (Conifer processes no payments, so nothing is ever past due).
    public var paymentStatus: String = "Active"
}

/// An organization's billing details: its plan (changed by the operator) and its billing contact.
public struct BillingDetails: Sendable, Equatable {
    public var organization: OrganizationInfo
    public var contact: BillingContact?
}

public struct APIKeyInfo: Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var name: String
    public var roles: [APIKeyRole]
    public var createdAt: Date

    public init(id: UUID, projectID: UUID, name: String, roles: [APIKeyRole], createdAt: Date) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.roles = roles
        self.createdAt = createdAt
    }
}

public struct ServiceAccountInfo: Sendable, Equatable {
    public var id: UUID
    public var organizationID: UUID
    public var name: String
    public var clientID: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// A service account with the only copy of its secret.
public struct CreatedServiceAccount: Sendable {
    public var account: ServiceAccountInfo
    public var clientSecret: String
}

public struct UserInfo: Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var name: String?
    public var createdAt: Date
}

public struct InviteInfo: Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var status: InviteStatus
    public var roleBindings: [InviteBinding]
    public var expiresAt: Date
    public var createdAt: Date
    public var processedAt: Date?
}

/// A role held by a principal on an organization or a project.
public struct RoleBindingInfo: Sendable, Equatable {
    public enum PrincipalType: String, Sendable, CaseIterable {
        case serviceAccount = "service_account"
        case user
    }

    public enum ResourceType: String, Sendable, CaseIterable {
        case organization
        case project
    }

    public var id: UUID
    public var principalType: PrincipalType
    public var principalID: UUID
    public var resourceType: ResourceType
    public var resourceID: UUID
    public var role: MembershipRole
    public var createdAt: Date
}

/// Which role bindings to list; nil matches anything.
public struct RoleBindingFilter: Sendable {
    public var principalType: RoleBindingInfo.PrincipalType?
    public var principalID: UUID?
    public var resourceType: RoleBindingInfo.ResourceType?
    public var resourceID: UUID?
    public var role: String?

    public init(
        principalType: RoleBindingInfo.PrincipalType? = nil, principalID: UUID? = nil,
        resourceType: RoleBindingInfo.ResourceType? = nil, resourceID: UUID? = nil, role: String? = nil
    ) {
        self.principalType = principalType
        self.principalID = principalID
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.role = role
    }
}

/// Changes to a project; nil leaves a field as it is.
public struct ProjectChange: Sendable {
    public var name: String?
    public var maxPods: Int?
    public var forceEncryptionWithCMEK: Bool?
    public var privateEndpointAccessOnly: Bool?
    /// Tags to set; an empty value removes its tag, tags not named stay.
    public var tags: [String: String]?

    public init(
        name: String? = nil, maxPods: Int? = nil, forceEncryptionWithCMEK: Bool? = nil, privateEndpointAccessOnly: Bool? = nil, tags: [String: String]? = nil
    ) {
        self.name = name
        self.maxPods = maxPods
        self.forceEncryptionWithCMEK = forceEncryptionWithCMEK
        self.privateEndpointAccessOnly = privateEndpointAccessOnly
        self.tags = tags
    }
}

/// An organization's usage lines over a range, as a report needs them.
public struct OrganizationUsage: Sendable {
    public var organization: OrganizationInfo
    public var lines: [UsageLine]
}

/// What the Admin API can ask: organizations, projects, API keys, service accounts, role bindings, users
/// and invites (implemented by `AdminService`).
///
/// Every call on behalf of a caller takes the pass of its route's decision, and decides per resource inside
/// the same transaction as the change: a resource the caller cannot see answers "not found" whether or not
/// it exists; one it can see but may not change answers "permission denied".
public protocol AdminCatalog: Sendable {
    /// Creates the first org-owner service account unless the organization already has one.
    func bootstrapServiceAccount(clientID: String?, clientSecret: String?) async throws -> CreatedServiceAccount?

    /// Sets an organization's plan (the first organization when `organization` is nil). An operator call.
    func setPlan(_ plan: Plan, organization: UUID?) async throws -> OrganizationInfo

    /// The service account and secret generation for a client id and secret, or nil.
    func authenticateServiceAccount(clientID: String, clientSecret: String) async throws -> (id: UUID, generation: Int)?
    /// The identity a token names, if the account still exists and the token's secret generation is current.
    func identity(serviceAccount: UUID, generation: Int) async throws -> Identity?

    func organizations(for pass: AdminPass) async throws -> [OrganizationInfo]
    func organization(_ id: UUID, for pass: AdminPass) async throws -> OrganizationInfo
    func renameOrganization(_ id: UUID, to name: String, for pass: AdminPass) async throws -> OrganizationInfo
    /// Deletes the caller's organization with everything under it, in one transaction: its projects with
    /// their indexes, API keys, customer-managed keys and role bindings, its service accounts and invites;
    /// users stay, without membership. Refused (412, nothing deleted) while an index under it has deletion
    /// protection. Returns what was deleted; the caller retires the deleted indexes' files.
    func deleteOrganization(_ id: UUID, for pass: AdminPass) async throws -> DeletedOrganization
    /// The caller's organization's usage ledger from `from` up to `to`, each entry with its project's name and tags
    /// and its resource's tags. Needs `billing:read` (owners and billing admins) and the Standard or Enterprise
    /// plan (402 on Starter).
    func usage(organization id: UUID, from: Date, to: Date, for pass: AdminPass) async throws -> OrganizationUsage
    /// The caller's organization's billing details (`billing:read`: owners and billing admins).
    func billing(organization id: UUID, for pass: AdminPass) async throws -> BillingDetails
    /// Sets the billing contact (`billing:write`); the plan stays the operator's to change.
    func updateBilling(organization id: UUID, contact: BillingContact, for pass: AdminPass) async throws -> BillingDetails
    func spendAlerts(organization id: UUID, for pass: AdminPass) async throws -> [SpendAlert]
    func spendAlert(_ alertID: SpendAlertID, organization id: UUID, for pass: AdminPass) async throws -> SpendAlert
    func createSpendAlert(organization id: UUID, amount: Double, recipients: [String]?, enabled: Bool, at now: Date, for pass: AdminPass) async throws -> SpendAlert
    func updateSpendAlert(
        _ alertID: SpendAlertID, organization id: UUID, amount: Double?, recipients: [String]?, enabled: Bool?, for pass: AdminPass
    ) async throws -> SpendAlert
    func deleteSpendAlert(_ alertID: SpendAlertID, organization id: UUID, for pass: AdminPass) async throws
    // Console sessions (AdminService+ConsoleSessions.swift).
    func startConsoleSession(user: UUID, generation: Int, policy: ConsoleSessionPolicy, at now: Date) async throws -> (secret: String, identity: Identity)?
    func consoleSession(secret: String, policy: ConsoleSessionPolicy, at now: Date) async throws -> Identity?
    func endConsoleSession(secret: String) async throws
    func removeEndedConsoleSessions(policy: ConsoleSessionPolicy, at now: Date) async throws -> Int

    // Single sign-on (AdminService+SSO.swift)
    func ssoSettings(organization id: UUID, for pass: AdminPass) async throws -> SSOSettings?
    func setSSOSettings(_ settings: SSOSettings, for pass: AdminPass) async throws -> SSOSettings
    func deleteSSOSettings(organization id: UUID, for pass: AdminPass) async throws -> SSOSettings?
    func ssoSettings(organization id: UUID) async throws -> SSOSettings?
    func ssoSettings(email: String) async throws -> SSOSettings?
    func startSAMLSignIn(_ settings: SSOSettings, serviceProvider: SAMLServiceProvider, relayState: String, callback: SSOCallback?, now: Date) async throws -> String
    func redeemSSOCode(_ code: String, verifier: String, now: Date) async throws -> (id: UUID, generation: Int)?
    func email(ofUser id: UUID) async throws -> String?
    func signInWithSAML(
        organization id: UUID, response: String, serviceProvider: SAMLServiceProvider, policy: ConsoleSessionPolicy, now: Date
    ) async throws -> SSOSignIn
    /// The system's: what fires at `now` (spend alerts' evaluation).
    func firingSpendAlerts(at now: Date, prices: PriceList) async throws -> [FiringSpendAlert]
    func fire(_ firing: FiringSpendAlert, message: MailMessage?, at now: Date) async throws -> Bool
    /// The caller's organization's messages (invites, alerts) and their delivery, newest first. Owners only.
    func mail(organization id: UUID, for pass: AdminPass) async throws -> [OutboxMail]

    func projects(for pass: AdminPass) async throws -> [ProjectInfo]
    func project(_ id: UUID, for pass: AdminPass) async throws -> ProjectInfo
    func createProject(name: String, maxPods: Int, forceEncryptionWithCMEK: Bool, tags: [String: String], for pass: AdminPass) async throws -> ProjectInfo
    func updateProject(_ id: UUID, _ change: ProjectChange, for pass: AdminPass) async throws -> ProjectInfo
    func deleteProject(_ id: UUID, for pass: AdminPass) async throws

    /// The project's customer-managed key, as a list of at most one.
    func cmekKeys(inProject project: UUID, for pass: AdminPass) async throws -> [CMEKKey]
    /// Sets the project's customer-managed key: Enterprise plan only, one per project, only before the
    /// project has indexes (so that all of them are under it).
    func createCMEKKey(inProject project: UUID, name: String, roleARN: String?, keyARN: String, externalID: String?, for pass: AdminPass) async throws -> CMEKKey
    /// Removes the project's customer-managed key, only while the project has no indexes.
    func deleteCMEKKey(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> CMEKKey

    /// The project's private endpoints, oldest first.
    func privateEndpoints(inProject project: UUID, for pass: AdminPass) async throws -> [PrivateEndpoint]
    func privateEndpoint(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> PrivateEndpoint
    /// Adds a private endpoint: Enterprise plan only, at most `PrivateEndpoint.maxPerProject` per project; a VPC
    /// endpoint id (`vpce-…`) or address blocks, not both.
    func createPrivateEndpoint(
        inProject project: UUID, name: String, region: String, vpcEndpointID: String?, allowedCIDRs: [String]?, for pass: AdminPass
    ) async throws -> PrivateEndpoint
    func deletePrivateEndpoint(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> PrivateEndpoint

    func apiKeys(inProject project: UUID, for pass: AdminPass) async throws -> [APIKeyInfo]
    func apiKey(_ id: UUID, for pass: AdminPass) async throws -> APIKeyInfo
    func createAPIKey(inProject project: UUID, name: String, roles: [APIKeyRole], for pass: AdminPass) async throws -> CreatedAPIKey
    func updateAPIKey(_ id: UUID, name: String?, roles: [APIKeyRole]?, for pass: AdminPass) async throws -> APIKeyInfo
    func deleteAPIKey(_ id: UUID, for pass: AdminPass) async throws

    func serviceAccounts(for pass: AdminPass) async throws -> [ServiceAccountInfo]
    func serviceAccount(_ id: UUID, for pass: AdminPass) async throws -> ServiceAccountInfo
    func createServiceAccount(name: String, role: OrganizationRole, for pass: AdminPass) async throws -> CreatedServiceAccount
    func renameServiceAccount(_ id: UUID, to name: String, for pass: AdminPass) async throws -> ServiceAccountInfo
    func rotateServiceAccountSecret(_ id: UUID, for pass: AdminPass) async throws -> CreatedServiceAccount
    func deleteServiceAccount(_ id: UUID, for pass: AdminPass) async throws

    /// Bindings the identity may see (organization bindings with org members:read, project bindings in
    /// projects where it holds members:read).
    func roleBindings(_ filter: RoleBindingFilter, for pass: AdminPass) async throws -> [RoleBindingInfo]
    func roleBinding(_ id: UUID, for pass: AdminPass) async throws -> RoleBindingInfo
    /// Grants a role (replacing the principal's previous role on that resource), only within the caller's own powers.
    func bindRole(
        principalType: RoleBindingInfo.PrincipalType, principalID: UUID, resourceType: RoleBindingInfo.ResourceType,
        resourceID: UUID?, role: String, for pass: AdminPass
    ) async throws -> RoleBindingInfo
    func deleteRoleBinding(_ id: UUID, for pass: AdminPass) async throws

    /// The account a sign-in names (a user's email or a service account's client id) and its organization,
    /// whether or not the secret was right, for the audit log; nil when no such account exists.
    func signInAccount(email: String?, clientID: String?) async throws -> (actor: ActionOutcome.Actor, organizationID: UUID)?

    /// The organization a service account or user belongs to, while it exists.
    func organization(of subject: Identity.Kind) async throws -> UUID?

    /// The user and password generation for an email and password, or nil.
    func authenticateUser(email: String, password: String) async throws -> (id: UUID, generation: Int)?
    /// The identity a user token names, if the user is still a member and the password generation is current.
    func identity(user: UUID, generation: Int) async throws -> Identity?
    func users(email: String?, for pass: AdminPass) async throws -> [UserInfo]
    func user(_ id: UUID, for pass: AdminPass) async throws -> UserInfo
    /// Removes a user from the organization (all its roles there); a user may also remove itself (leave).
    func removeUser(_ id: UUID, for pass: AdminPass) async throws

    /// Invites an email address with roles; returns the one-time acceptance token (Conifer sends no email).
    func createInvite(email: String, roleBindings: [InviteBinding], for pass: AdminPass) async throws -> (invite: InviteInfo, token: String)
    func invites(for pass: AdminPass) async throws -> [InviteInfo]
    func invite(_ id: UUID, for pass: AdminPass) async throws -> InviteInfo
    func deleteInvite(_ id: UUID, for pass: AdminPass) async throws
    /// A new token and expiry for a pending invite; the old token stops working.
    func resendInvite(_ id: UUID, for pass: AdminPass) async throws -> (invite: InviteInfo, token: String)
    /// Accepts an invite with its token: creates the user (or proves an existing one by its password),
    /// sets the password and grants the invite's roles. The token is the credential; it works once.
    func acceptInvite(token: String, password: String, name: String?) async throws -> UserInfo
}

/// Rules the Admin API enforces on its inputs.
public enum AdminRules {
    public static let maxProjectName = 512
    public static let maxKeyName = 80

    /// Project tags follow the rules of index tags (at most 20; keys of letters, digits, `_` and `-` up to 80
    /// characters; values up to 120).
    public static func validateProjectTags(_ tags: [String: String]) throws(ConiferError) {
        try IndexRules.validateTags(tags, of: "a project")
    }

    public static func validateProjectName(_ name: String) throws(ConiferError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= maxProjectName else {
            throw .invalidArgument("A project name must be 1 to \(maxProjectName) characters.")
        }
    }

    public static func validateName(_ name: String, what: String) throws(ConiferError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= maxKeyName else {
            throw .invalidArgument("A \(what) name must be 1 to \(maxKeyName) characters.")
        }
    }

    /// A private endpoint's region (1–64 of `[a-z0-9-]`) and its network: a VPC endpoint id (`vpce-` and 8 to
    /// 17 hexadecimal digits) or 1 to 50 CIDR blocks, not both. Returns the parsed blocks.
    public static func validatePrivateEndpoint(region: String, vpcEndpointID: String?, allowedCIDRs: [String]?) throws(ConiferError) -> [CIDRBlock] {
        guard region.wholeMatch(of: #/[a-z0-9-]{1,64}/#) != nil else {
            throw .invalidArgument("region must be 1 to 64 lowercase letters, digits or dashes (like us-east-1).")
        }
        switch (vpcEndpointID, allowedCIDRs) {
        case (let id?, nil):
            guard id.wholeMatch(of: #/vpce-[0-9a-f]{8,17}/#) != nil else {
                throw .invalidArgument("vpc_endpoint_id must be an AWS VPC endpoint id: vpce- and 8 to 17 hexadecimal digits.")
            }
            return []
        case (nil, let cidrs?):
            guard (1...50).contains(cidrs.count) else { throw .invalidArgument("allowed_cidrs takes 1 to 50 CIDR blocks.") }
            var blocks: [CIDRBlock] = []
            for text in cidrs { blocks.append(try CIDRBlock(text)) }
            return blocks
        default:
            throw .invalidArgument("A private endpoint takes exactly one of vpc_endpoint_id and allowed_cidrs.")
        }
    }

    /// A KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<key id>`) and, when given, an IAM role ARN
    /// (`arn:<partition>:iam::<account>:role/<path and name>`) and an external id (2–1224 characters of
    /// `[A-Za-z0-9+=,.@:/-]`, AWS's rule).
    public static func validateCMEK(roleARN: String?, keyARN: String, externalID: String?) throws(ConiferError) {
        guard keyARN.count <= 2048, keyARN.wholeMatch(of: #/arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+/#) != nil else {
            throw .invalidArgument("key_arn must be the ARN of a KMS key: arn:aws:kms:<region>:<account>:key/<key id>.")
        }
        if let roleARN {
            guard roleARN.count <= 2048, roleARN.wholeMatch(of: #/arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_\/-]+/#) != nil else {
                throw .invalidArgument("role_arn must be the ARN of an IAM role: arn:aws:iam::<account>:role/<name>.")
            }
        }
        if let externalID {
            guard (2...1224).contains(externalID.count), externalID.wholeMatch(of: #/[A-Za-z0-9+=,.@:\/_-]+/#) != nil else {
                throw .invalidArgument("external_id must be 2 to 1224 characters: letters, digits and +=,.@:/_-.")
            }
        }
    }

    /// A key holds ProjectEditor or ProjectViewer alone, or at most one control-plane and one data-plane role.
    public static func validateRoles(_ roles: [APIKeyRole]) throws(ConiferError) {
        let set = Set(roles)
        guard !set.isEmpty else { throw .invalidArgument("An API key needs at least one role.") }
        if set.contains(.projectEditor) || set.contains(.projectViewer) {
            guard set.count == 1 else {
                throw .invalidArgument("ProjectEditor and ProjectViewer cannot be combined with other roles.")
            }
            return
        }
        guard set.filter(\.isControlPlane).count <= 1, set.filter(\.isDataPlane).count <= 1 else {
            throw .invalidArgument("An API key holds at most one control-plane role and one data-plane role.")
        }
    }
}

/// The message an invite sends when the server has mail: who is invited to which organization, and how to accept.
public struct InvitationMail: Sendable {
    public var from: String
    /// The server's public URL (what index hosts are built from, known once it listens), for the accept call.
    public var serverURL: @Sendable () -> String

    public init(from: String, serverURL: @escaping @Sendable () -> String) {
        self.from = from
        self.serverURL = serverURL
    }

    func message(to address: String, organization: String, token: String, expires: Date) -> MailMessage {
        let formatter = ISO8601DateFormatter()
        let serverURL = serverURL()
        let accept = "\(serverURL)/oauth/accept-invite"
        return MailMessage(
            from: from, to: [address], subject: "You are invited to join \(organization) on Conifer",
            text: """
                You have been invited to join the organization "\(organization)" on the Conifer server at \(serverURL).

                To accept, open this link in your browser and choose a password of at least 12 characters:

                    \(serverURL)/console/accept-invite?token=\(token)

                Or send the password with this invitation's token from a terminal:

                    curl -X POST \(accept) -H 'Content-Type: application/json' \\
                        -d '{"token": "\(token)", "password": "…", "name": "Your name"}'

                Token: \(token)

                The invitation expires on \(formatter.string(from: expires)). If you did not expect it, ignore this message.
                """
        )
    }
}
