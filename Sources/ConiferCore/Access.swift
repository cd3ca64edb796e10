import Foundation

/// The roles a project API key can hold (Pinecone's closed enum).
public enum APIKeyRole: String, Codable, Sendable, CaseIterable {
    case projectEditor = "ProjectEditor"
    case projectViewer = "ProjectViewer"
    case controlPlaneEditor = "ControlPlaneEditor"
    case controlPlaneViewer = "ControlPlaneViewer"
    case dataPlaneEditor = "DataPlaneEditor"
    case dataPlaneViewer = "DataPlaneViewer"

    /// The permissions this role grants inside its project.
    public var permissions: Set<Permission> {
        switch self {
        case .projectEditor: [.indexesRead, .indexesWrite, .dataRead, .dataWrite]
        case .projectViewer: [.indexesRead, .dataRead]
        case .controlPlaneEditor: [.indexesRead, .indexesWrite]
        case .controlPlaneViewer: [.indexesRead]
        case .dataPlaneEditor: [.dataRead, .dataWrite]
        case .dataPlaneViewer: [.dataRead]
        }
    }

    /// Whether this role belongs to the control plane (a key holds at most one control- and one data-plane role).
    public var isControlPlane: Bool { self == .controlPlaneEditor || self == .controlPlaneViewer }
    public var isDataPlane: Bool { self == .dataPlaneEditor || self == .dataPlaneViewer }
}

/// Roles of users and service accounts in an organization (Admin API 2026-07 names).
public enum OrganizationRole: String, Codable, Sendable, CaseIterable {
    case owner = "OrgOwner"
    case manager = "OrgManager"
    case member = "OrgMember"
    case billingAdmin = "OrgBillingAdmin"

    public var permissions: Set<OrganizationPermission> {
        switch self {
        case .owner: Set(OrganizationPermission.allCases)
        case .manager: [.organizationRead, .projectsCreate, .serviceAccountsRead, .serviceAccountsWrite, .membersRead, .membersWrite]
        case .member: [.organizationRead, .projectsCreate, .membersRead]
        case .billingAdmin: [.organizationRead, .billingRead, .billingWrite]
        }
    }

    /// The project role the organization role carries into every project of the organization, if any.
    public var impliedProjectRole: ProjectRole? {
        switch self {
        case .owner: .owner
        case .manager: .manager
        case .member, .billingAdmin: nil
        }
    }
}

/// Roles of users and service accounts in a project (Admin API 2026-07 names).
public enum ProjectRole: String, Codable, Sendable, CaseIterable {
    case owner = "ProjectOwner"
    case manager = "ProjectManager"
    case member = "ProjectMember"

    public var permissions: Set<Permission> {
        let data: Set<Permission> = [.indexesRead, .indexesWrite, .dataRead, .dataWrite, .projectRead, .apiKeysRead, .membersRead]
        switch self {
        case .owner: return Set(Permission.allCases)
        case .manager: return data.union([.apiKeysWrite, .membersWrite])
        case .member: return data
        }
    }
}

/// A role a user or service account holds: on its organization, or on one project. Stored and shown by
/// its Admin API name (`OrgOwner`, `ProjectMember`, ...).
public enum MembershipRole: Sendable, Hashable, Codable {
    case organization(OrganizationRole)
    case project(ProjectRole)

    public init?(rawValue: String) {
        if let role = OrganizationRole(rawValue: rawValue) {
            self = .organization(role)
        } else if let role = ProjectRole(rawValue: rawValue) {
            self = .project(role)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .organization(let role): role.rawValue
        case .project(let role): role.rawValue
        }
    }

    public var organizationRole: OrganizationRole? {
        if case .organization(let role) = self { role } else { nil }
    }

    public var projectRole: ProjectRole? {
        if case .project(let role) = self { role } else { nil }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let role = MembershipRole(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "Unknown role \(text)"))
        }
        self = role
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a route needs from its caller inside a project.
public enum Permission: String, Codable, Sendable, CaseIterable {
    /// List and describe indexes.
    case indexesRead = "indexes:read"
    /// Create, configure and delete indexes.
    case indexesWrite = "indexes:write"
    /// Query, fetch, list and read statistics.
    case dataRead = "data:read"
    /// Upsert, update and delete records.
    case dataWrite = "data:write"
    /// See the project.
    case projectRead = "project:read"
    /// Rename the project and change its settings.
    case projectWrite = "project:write"
    /// Delete the project.
    case projectDelete = "project:delete"
    /// List and describe API keys.
    case apiKeysRead = "api-keys:read"
    /// Create, update and delete API keys.
    case apiKeysWrite = "api-keys:write"
    /// See the project's members.
    case membersRead = "members:read"
    /// Add, change and remove the project's members.
    case membersWrite = "members:write"
}

extension Permission {
    /// Whether the permission only lets its holder look (a call needing it changes nothing).
    public var isRead: Bool {
        switch self {
        case .indexesRead, .dataRead, .projectRead, .apiKeysRead, .membersRead: true
        case .indexesWrite, .dataWrite, .projectWrite, .projectDelete, .apiKeysWrite, .membersWrite: false
        }
    }
}

/// What a route needs from its caller in an organization.
public enum OrganizationPermission: String, Codable, Sendable, CaseIterable {
    case organizationRead = "organization:read"
    case organizationWrite = "organization:write"
    case organizationDelete = "organization:delete"
    case projectsCreate = "projects:create"
    case serviceAccountsRead = "service-accounts:read"
    case serviceAccountsWrite = "service-accounts:write"
    case membersRead = "org-members:read"
    case membersWrite = "org-members:write"
    case billingRead = "billing:read"
    case billingWrite = "billing:write"
    /// Read the audit log and its export settings.
    case auditLogRead = "audit-log:read"
    /// Enable, change, pause and remove the audit-log export.
    case auditLogWrite = "audit-log:write"
}

/// A user or service account with its organization and project roles, as the Admin API sees it.
public struct Identity: Sendable, Equatable {
    public enum Kind: Sendable, Equatable, Hashable {
        case serviceAccount(UUID)
        case user(UUID)
    }

    public let kind: Kind
    public let organizationID: UUID
    public let organizationRole: OrganizationRole?
    public let projectRoles: [UUID: ProjectRole]

    package init(kind: Kind, organizationID: UUID, organizationRole: OrganizationRole?, projectRoles: [UUID: ProjectRole]) {
        self.kind = kind
        self.organizationID = organizationID
        self.organizationRole = organizationRole
        self.projectRoles = projectRoles
    }

    public var organizationPermissions: Set<OrganizationPermission> { organizationRole?.permissions ?? [] }

    /// Permissions in a project of the identity's organization: its own project role joined with what
    /// its organization role implies everywhere.
    public func permissions(inProject project: UUID) -> Set<Permission> {
        var permissions = projectRoles[project]?.permissions ?? []
        if let implied = organizationRole?.impliedProjectRole {
            permissions.formUnion(implied.permissions)
        }
        return permissions
    }

    /// Whether the identity can see a project at all (any permission there).
    public func canSee(project: UUID) -> Bool { !permissions(inProject: project).isEmpty }

    public func require(_ permission: OrganizationPermission) throws(ConiferError) {
        guard organizationPermissions.contains(permission) else {
            throw .permissionDenied("This principal lacks the organization permission \(permission.rawValue).")
        }
    }

    public func require(_ permission: Permission, inProject project: UUID) throws(ConiferError) {
        guard permissions(inProject: project).contains(permission) else {
            throw .permissionDenied("This principal lacks the project permission \(permission.rawValue).")
        }
    }

    /// Whether this identity holds every right `target` holds: every organization permission, and in
    /// every project at least the permissions the target has there (SECURITY.md rule 9). A principal may
    /// rotate, rename, delete, rebind or demote only identities it covers, so no caller ever acts on, or
    /// obtains a credential of, a principal with more rights than its own.
    public func covers(_ target: Identity) -> Bool {
        guard target.organizationID == organizationID, target.organizationPermissions.isSubset(of: organizationPermissions) else { return false }
        // What the target's organization role implies in every project must be implied for this identity too.
        let impliedTarget = target.organizationRole?.impliedProjectRole?.permissions ?? []
        let impliedOwn = organizationRole?.impliedProjectRole?.permissions ?? []
        guard impliedTarget.isSubset(of: impliedOwn) else { return false }
        return target.projectRoles.keys.allSatisfy { covers(target, inProject: $0) }
    }

    /// Whether this identity holds, in `project`, every permission `target` holds there.
    public func covers(_ target: Identity, inProject project: UUID) -> Bool {
        target.organizationID == organizationID && target.permissions(inProject: project).isSubset(of: permissions(inProject: project))
    }

    /// Throws 403 unless this identity covers `target` (see `covers(_:)`).
    public func requireCovers(_ target: Identity, inProject project: UUID? = nil, _ what: String) throws(ConiferError) {
        let covered = project.map { covers(target, inProject: $0) } ?? covers(target)
        guard covered else {
            throw .permissionDenied("The caller may not act on \(what): it holds rights the caller does not have.")
        }
    }

    /// The principal this identity is inside one project (control and data plane with a bearer token).
    public func principal(inProject project: UUID) -> Principal {
        Principal(kind: .identity(kind), projectID: project, organizationID: organizationID, permissions: permissions(inProject: project))
    }
}

/// A caller acting inside one project. Every catalog and storage entry point takes one, so nothing is
/// reached without it.
public struct Principal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case apiKey(id: UUID, roles: Set<APIKeyRole>)
        case identity(Identity.Kind)
    }

    public let kind: Kind
    public let projectID: UUID
    public let organizationID: UUID
    /// Every permission the principal holds in its project.
    public let permissions: Set<Permission>

    package init(kind: Kind, projectID: UUID, organizationID: UUID, permissions: Set<Permission>) {
        self.kind = kind
        self.projectID = projectID
        self.organizationID = organizationID
        self.permissions = permissions
    }

    /// An API key's principal: its roles' permissions in its project.
    package static func apiKey(id: UUID, roles: Set<APIKeyRole>, projectID: UUID, organizationID: UUID) -> Principal {
        Principal(
            kind: .apiKey(id: id, roles: roles), projectID: projectID, organizationID: organizationID,
            permissions: roles.reduce(into: []) { $0.formUnion($1.permissions) }
        )
    }

    /// Throws 403 unless the principal holds `permission`.
    public func require(_ permission: Permission) throws(ConiferError) {
        guard permissions.contains(permission) else {
            throw .permissionDenied("The caller does not have the permission this request needs (\(permission.rawValue)).")
        }
    }
}

/// What an organization pays for; plans gate features (SECURITY.md, issue 4).
public enum Plan: String, Codable, Sendable, CaseIterable {
    case starter = "Starter"
    case standard = "Standard"
    case enterprise = "Enterprise"

    /// The name Pinecone's Admin API uses (its enum calls the starter plan `Free`).
    public var wireName: String { self == .starter ? "Free" : rawValue }

    /// Starter keys are ProjectEditor only, and their roles are fixed.
    public var allowsKeyRoles: Bool { self != .starter }
    public var allowsServiceAccounts: Bool { self == .enterprise }
    /// Prometheus metrics are on the Standard and Enterprise plans.
    public var allowsMetrics: Bool { self != .starter }
    /// Serverless indexes per project (Pinecone's object limits).
    public var maxIndexesPerProject: Int {
        switch self {
        case .starter: 5
        case .standard: 20
        case .enterprise: 200
        }
    }

    /// Backups per project, scheduled ones included (Pinecone's object limits; none on Starter).
    public var maxBackupsPerProject: Int {
        switch self {
        case .starter: 0
        case .standard: 500
        case .enterprise: 1000
        }
    }

    /// Collections per project (Pinecone's object limit).
    public var maxCollectionsPerProject: Int { 100 }

    /// Namespaces per serverless index.
    public var maxNamespacesPerIndex: Int { self == .starter ? 100 : 100_000 }

    /// Whether the plan has pod-based indexes at all (up to each project's `max_pods`).
    public var allowsPods: Bool { self != .starter }

    /// Read units an organization may use in a calendar month (UTC); nil for no limit.
    public var monthlyReadUnits: Double? { self == .starter ? 1_000_000 : nil }
    /// Write units an organization may use in a calendar month (UTC); nil for no limit.
    public var monthlyWriteUnits: Double? { self == .starter ? 2_000_000 : nil }
}
