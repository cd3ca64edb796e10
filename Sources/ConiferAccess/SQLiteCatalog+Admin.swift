import ConiferCore
import Foundation
import GRDB

extension SQLiteCatalog: AdminCatalog {
    // MARK: Service-account authentication

    public func bootstrapServiceAccount(clientID: String?, clientSecret: String?) async throws -> CreatedServiceAccount? {
        if let clientSecret {
            guard clientSecret.utf8.count >= APIKeySecret.minimumLength, APIKeySecret.isPlausible(clientSecret) else {
                throw ConiferError.invalidArgument(
                    "CONIFER_BOOTSTRAP_CLIENT_SECRET must be \(APIKeySecret.minimumLength) to 256 printable ASCII characters without spaces."
                )
            }
        }
        if let clientID, !(APIKeySecret.isPlausible(clientID) && clientID.count <= 128) {
            throw ConiferError.invalidArgument("CONIFER_BOOTSTRAP_CLIENT_ID must be 1 to 128 printable ASCII characters without spaces.")
        }
        return try await database.write { db -> CreatedServiceAccount? in
            guard let organization = try OrganizationRow.order(OrganizationRow.Columns.createdAt).fetchOne(db),
                  try ServiceAccountRow.filter(ServiceAccountRow.Columns.organizationID == organization.id).fetchCount(db) == 0
            else { return nil }
            return try Self.insertServiceAccount(
                db, organizationID: organization.id, name: "bootstrap", role: .owner, clientID: clientID, clientSecret: clientSecret
            )
        }
    }

    public func setPlan(_ plan: Plan, organization: UUID?) async throws -> OrganizationInfo {
        try await database.write { db in
            let request = organization.map { OrganizationRow.filter(key: $0.lowercasedString) } ?? OrganizationRow.order(OrganizationRow.Columns.createdAt).limit(1)
            guard var row = try request.fetchOne(db) else {
                throw ConiferError.notFound("Organization \(organization?.lowercasedString ?? "") not found.")
            }
            row.plan = plan
            try row.update(db)
            return try Self.info(row)
        }
    }

    static func plan(_ db: Database, organization: UUID) throws -> Plan {
        try OrganizationRow.fetchOne(db, key: organization.lowercasedString)?.plan ?? .starter
    }

    public func authenticateServiceAccount(clientID: String, clientSecret: String) async throws -> (id: UUID, generation: Int)? {
        guard APIKeySecret.isPlausible(clientID), APIKeySecret.isPlausible(clientSecret) else { return nil }
        let presented = APIKeySecret.hash(clientSecret)
        return try await database.read { db in
            guard let account = try ServiceAccountRow.filter(ServiceAccountRow.Columns.clientID == clientID).fetchOne(db),
                  APIKeySecret.constantTimeEquals(account.secretHash, presented)
            else { return nil }
            return (try Self.uuid(account.id), account.secretGeneration)
        }
    }

    public func identity(serviceAccount id: UUID, generation: Int) async throws -> Identity? {
        try await database.read { db in
            guard let account = try ServiceAccountRow.fetchOne(db, key: id.lowercasedString), account.secretGeneration == generation else {
                return nil
            }
            return try Self.identity(db, account: account)
        }
    }

    static func identity(_ db: Database, account: ServiceAccountRow) throws -> Identity {
        let bindings = try RoleBindingRow
            .filter(RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.serviceAccount.rawValue && RoleBindingRow.Columns.principalID == account.id)
            .fetchAll(db)
        var organizationRole: OrganizationRole?
        var projectRoles: [UUID: ProjectRole] = [:]
        for binding in bindings {
            switch binding.resourceType {
            case .organization where binding.resourceID == account.organizationID:
                organizationRole = OrganizationRole(rawValue: binding.role)
            case .project:
                if let project = UUID(uuidString: binding.resourceID), let role = ProjectRole(rawValue: binding.role) {
                    projectRoles[project] = role
                }
            case .organization:
                continue
            }
        }
        return Identity(
            kind: .serviceAccount(try uuid(account.id)), organizationID: try uuid(account.organizationID),
            organizationRole: organizationRole, projectRoles: projectRoles
        )
    }

    static func insertServiceAccount(
        _ db: Database, organizationID: String, name: String, role: OrganizationRole, clientID: String? = nil, clientSecret: String? = nil
    ) throws -> CreatedServiceAccount {
        let now = Date()
        let secret = clientSecret ?? "pcsa_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        let row = ServiceAccountRow(
            id: UUID().lowercasedString, organizationID: organizationID, name: name,
            clientID: clientID ?? APIKeySecret.randomText(length: 24), secretHash: APIKeySecret.hash(secret),
            secretGeneration: 1, createdAt: now, updatedAt: now
        )
        try row.insert(db)
        try RoleBindingRow(
            id: UUID().lowercasedString, principalType: .serviceAccount, principalID: row.id,
            resourceType: .organization, resourceID: organizationID, role: role.rawValue, createdAt: now
        ).insert(db)
        return CreatedServiceAccount(account: try info(row), clientSecret: secret)
    }

    // MARK: Organizations

    public func organizations(for identity: Identity) async throws -> [OrganizationInfo] {
        try await database.read { db in
            guard let row = try OrganizationRow.fetchOne(db, key: identity.organizationID.lowercasedString) else { return [] }
            return [try Self.info(row)]
        }
    }

    public func organization(_ id: UUID, for identity: Identity) async throws -> OrganizationInfo {
        guard id == identity.organizationID else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
        return try await database.read { db in
            guard let row = try OrganizationRow.fetchOne(db, key: id.lowercasedString) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) not found.")
            }
            return try Self.info(row)
        }
    }

    public func renameOrganization(_ id: UUID, to name: String, for identity: Identity) async throws -> OrganizationInfo {
        guard id == identity.organizationID else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
        try identity.require(.organizationWrite)
        try AdminRules.validateProjectName(name)
        return try await database.write { db in
            guard var row = try OrganizationRow.fetchOne(db, key: id.lowercasedString) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) not found.")
            }
            row.name = name
            try row.update(db)
            return try Self.info(row)
        }
    }

    // MARK: Projects

    public func projects(for identity: Identity) async throws -> [ProjectInfo] {
        try await database.read { db in
            try ProjectRow.filter(ProjectRow.Columns.organizationID == identity.organizationID.lowercasedString)
                .order(ProjectRow.Columns.createdAt, ProjectRow.Columns.name)
                .fetchAll(db)
                .map(Self.info)
                .filter { identity.canSee(project: $0.id) }
        }
    }

    public func project(_ id: UUID, for identity: Identity) async throws -> ProjectInfo {
        try await database.read { db in try Self.info(try Self.visibleProject(db, id, identity, needs: .projectRead)) }
    }

    public func createProject(name: String, maxPods: Int, forceEncryptionWithCMEK: Bool, for identity: Identity) async throws -> ProjectInfo {
        try identity.require(.projectsCreate)
        try AdminRules.validateProjectName(name)
        guard maxPods >= 0 else { throw ConiferError.invalidArgument("max_pods must not be negative.") }
        return try await database.write { db in
            let now = Date()
            let row = ProjectRow(
                id: UUID().lowercasedString, organizationID: identity.organizationID.lowercasedString, name: name, createdAt: now,
                maxPods: maxPods, forceEncryptionWithCMEK: forceEncryptionWithCMEK
            )
            try row.insert(db)
            // The creator owns what it creates (unless its organization role already makes it an owner).
            if identity.organizationRole?.impliedProjectRole != .owner {
                try Self.bind(db, identity.kind, resourceType: .project, resourceID: row.id, role: ProjectRole.owner.rawValue)
            }
            return try Self.info(row)
        }
    }

    public func updateProject(_ id: UUID, _ change: ProjectChange, for identity: Identity) async throws -> ProjectInfo {
        if let name = change.name { try AdminRules.validateProjectName(name) }
        if let maxPods = change.maxPods, maxPods < 0 { throw ConiferError.invalidArgument("max_pods must not be negative.") }
        return try await database.write { db in
            var row = try Self.visibleProject(db, id, identity, needs: .projectWrite)
            if let name = change.name { row.name = name }
            if let maxPods = change.maxPods { row.maxPods = maxPods }
            if let force = change.forceEncryptionWithCMEK { row.forceEncryptionWithCMEK = force }
            try row.update(db)
            return try Self.info(row)
        }
    }

    public func deleteProject(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in
            let row = try Self.visibleProject(db, id, identity, needs: .projectDelete)
            let indexes = try IndexRow.filter(IndexRow.Columns.projectID == row.id).fetchCount(db)
            guard indexes == 0 else {
                throw ConiferError(.failedPrecondition, "Project \(row.name) still holds \(indexes) index(es); delete them before the project.")
            }
            try RoleBindingRow.filter(RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.project.rawValue && RoleBindingRow.Columns.resourceID == row.id).deleteAll(db)
            try row.delete(db)  // API keys go with it (ON DELETE CASCADE)
        }
    }

    /// A project of the identity's organization that it can see, after checking `needs`; otherwise not found / denied.
    static func visibleProject(_ db: Database, _ id: UUID, _ identity: Identity, needs permission: Permission) throws -> ProjectRow {
        guard identity.canSee(project: id),
              let row = try ProjectRow.fetchOne(db, key: id.lowercasedString),
              row.organizationID == identity.organizationID.lowercasedString
        else { throw ConiferError.notFound("Project \(id.lowercasedString) not found.") }
        try identity.require(permission, inProject: id)
        return row
    }

    static func bind(_ db: Database, _ kind: Identity.Kind, resourceType: RoleBindingInfo.ResourceType, resourceID: String, role: String) throws {
        let (type, principal): (RoleBindingInfo.PrincipalType, String) = switch kind {
        case .serviceAccount(let id): (.serviceAccount, id.lowercasedString)
        case .user(let id): (.user, id.lowercasedString)
        }
        try RoleBindingRow(
            id: UUID().lowercasedString, principalType: type, principalID: principal, resourceType: resourceType,
            resourceID: resourceID, role: role, createdAt: Date()
        ).insert(db, onConflict: .replace)
    }

    // MARK: API keys

    public func apiKeys(inProject project: UUID, for identity: Identity) async throws -> [APIKeyInfo] {
        try await database.read { db in
            let row = try Self.visibleProject(db, project, identity, needs: .apiKeysRead)
            return try APIKeyRow.filter(APIKeyRow.Columns.projectID == row.id).order(APIKeyRow.Columns.createdAt).fetchAll(db).map(Self.info)
        }
    }

    public func apiKey(_ id: UUID, for identity: Identity) async throws -> APIKeyInfo {
        try await database.read { db in try Self.info(try Self.visibleKey(db, id, identity, needs: .apiKeysRead)) }
    }

    public func createAPIKey(inProject project: UUID, name: String, roles: [APIKeyRole], for identity: Identity) async throws -> CreatedAPIKey {
        try AdminRules.validateName(name, what: "key")
        try AdminRules.validateRoles(roles)
        try Self.requireGrantable(roles, identity: identity, project: project)
        let (value, label) = APIKeySecret.generate()
        let id = UUID()
        try await database.write { db in
            let row = try Self.visibleProject(db, project, identity, needs: .apiKeysWrite)
            if !(try Self.plan(db, organization: identity.organizationID)).allowsKeyRoles, roles != [.projectEditor] {
                throw ConiferError(.paymentRequired, "On the Starter plan, API keys have the ProjectEditor role only.")
            }
            try APIKeyRow(
                id: id.lowercasedString, projectID: row.id, name: name, label: label,
                secretHash: APIKeySecret.hash(value), roles: roles, createdAt: Date()
            ).insert(db)
        }
        return CreatedAPIKey(id: id, projectID: project, name: name, roles: roles, value: value)
    }

    public func updateAPIKey(_ id: UUID, name: String?, roles: [APIKeyRole]?, for identity: Identity) async throws -> APIKeyInfo {
        if let name { try AdminRules.validateName(name, what: "key") }
        if let roles { try AdminRules.validateRoles(roles) }
        return try await database.write { db in
            var row = try Self.visibleKey(db, id, identity, needs: .apiKeysWrite)
            try Self.requireGrantable(row.roles, identity: identity, project: try Self.uuid(row.projectID))
            if let roles, roles != row.roles, !(try Self.plan(db, organization: identity.organizationID)).allowsKeyRoles {
                throw ConiferError(.paymentRequired, "On the Starter plan, the roles of an API key cannot be changed.")
            }
            if let roles {
                try Self.requireGrantable(roles, identity: identity, project: try Self.uuid(row.projectID))
                row.roles = roles
            }
            if let name { row.name = name }
            try row.update(db)
            return try Self.info(row)
        }
    }

    public func deleteAPIKey(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in
            let row = try Self.visibleKey(db, id, identity, needs: .apiKeysWrite)
            // A key is a principal too: only a caller holding all of its rights may change or delete it.
            try Self.requireGrantable(row.roles, identity: identity, project: try Self.uuid(row.projectID))
            try row.delete(db)
        }
    }

    static func visibleKey(_ db: Database, _ id: UUID, _ identity: Identity, needs permission: Permission) throws -> APIKeyRow {
        guard let row = try APIKeyRow.fetchOne(db, key: id.lowercasedString),
              let project = UUID(uuidString: row.projectID), identity.canSee(project: project),
              try ProjectRow.fetchOne(db, key: row.projectID)?.organizationID == identity.organizationID.lowercasedString
        else { throw ConiferError.notFound("API key \(id.lowercasedString) not found.") }
        try identity.require(permission, inProject: project)
        return row
    }

    /// No escalation: a key may only carry permissions its creator holds in that project.
    static func requireGrantable(_ roles: [APIKeyRole], identity: Identity, project: UUID) throws(ConiferError) {
        let granted = roles.reduce(into: Set<Permission>()) { $0.formUnion($1.permissions) }
        guard granted.isSubset(of: identity.permissions(inProject: project)) else {
            throw .permissionDenied("A principal can only grant roles whose permissions it holds itself.")
        }
    }

    // MARK: Service accounts

    public func serviceAccounts(for identity: Identity) async throws -> [ServiceAccountInfo] {
        try identity.require(.serviceAccountsRead)
        return try await database.read { db in
            try ServiceAccountRow.filter(ServiceAccountRow.Columns.organizationID == identity.organizationID.lowercasedString)
                .order(ServiceAccountRow.Columns.createdAt).fetchAll(db).map(Self.info)
        }
    }

    public func serviceAccount(_ id: UUID, for identity: Identity) async throws -> ServiceAccountInfo {
        try await database.read { db in try Self.info(try Self.visibleAccount(db, id, identity, needs: .serviceAccountsRead)) }
    }

    public func createServiceAccount(name: String, role: OrganizationRole, for identity: Identity) async throws -> CreatedServiceAccount {
        try identity.require(.serviceAccountsWrite)
        try AdminRules.validateName(name, what: "service account")
        try Self.requireGrantable(role, identity: identity)
        return try await database.write { db in
            guard try Self.plan(db, organization: identity.organizationID).allowsServiceAccounts else {
                throw ConiferError(.paymentRequired, "Service accounts need the Enterprise plan.")
            }
            return try Self.insertServiceAccount(db, organizationID: identity.organizationID.lowercasedString, name: name, role: role)
        }
    }

    public func renameServiceAccount(_ id: UUID, to name: String, for identity: Identity) async throws -> ServiceAccountInfo {
        try AdminRules.validateName(name, what: "service account")
        return try await database.write { db in
            var row = try Self.visibleAccount(db, id, identity, needs: .serviceAccountsWrite, acting: true)
            row.name = name
            row.updatedAt = Date()
            try row.update(db)
            return try Self.info(row)
        }
    }

    public func rotateServiceAccountSecret(_ id: UUID, for identity: Identity) async throws -> CreatedServiceAccount {
        let secret = "pcsa_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await database.write { db in
            var row = try Self.visibleAccount(db, id, identity, needs: .serviceAccountsWrite, acting: true)
            row.secretHash = APIKeySecret.hash(secret)
            row.secretGeneration += 1  // revokes every token issued for the old secret
            row.updatedAt = Date()
            try row.update(db)
            return CreatedServiceAccount(account: try Self.info(row), clientSecret: secret)
        }
    }

    public func deleteServiceAccount(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in
            let row = try Self.visibleAccount(db, id, identity, needs: .serviceAccountsWrite, acting: true)
            try Self.keepAnOwner(db, organization: row.organizationID, losing: row.id, newRole: nil)
            try RoleBindingRow.filter(RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.serviceAccount.rawValue && RoleBindingRow.Columns.principalID == row.id).deleteAll(db)
            try row.delete(db)
        }
    }

    /// A service account of the caller's organization, after checking `permission`; with `acting`, also
    /// that the caller covers every right of the account (SECURITY.md rule 9).
    static func visibleAccount(
        _ db: Database, _ id: UUID, _ identity: Identity, needs permission: OrganizationPermission, acting: Bool = false
    ) throws -> ServiceAccountRow {
        guard identity.organizationPermissions.contains(.serviceAccountsRead),
              let row = try ServiceAccountRow.fetchOne(db, key: id.lowercasedString),
              row.organizationID == identity.organizationID.lowercasedString
        else { throw ConiferError.notFound("Service account \(id.lowercasedString) not found.") }
        try identity.require(permission)
        if acting {
            try identity.requireCovers(try Self.identity(db, account: row), "service account \(row.name)")
        }
        return row
    }

    /// The identity of a user or service account, as stored now.
    static func identity(_ db: Database, principalType: RoleBindingInfo.PrincipalType, principalID: String) throws -> Identity? {
        switch principalType {
        case .serviceAccount: try ServiceAccountRow.fetchOne(db, key: principalID).map { try identity(db, account: $0) }
        case .user: try UserRow.fetchOne(db, key: principalID).flatMap { try identity(db, user: $0) }
        }
    }

    // MARK: Row conversions

    static func info(_ row: ProjectRow) throws -> ProjectInfo {
        ProjectInfo(
            id: try uuid(row.id), organizationID: try uuid(row.organizationID), name: row.name, maxPods: row.maxPods,
            forceEncryptionWithCMEK: row.forceEncryptionWithCMEK, createdAt: row.createdAt
        )
    }

    static func info(_ row: OrganizationRow) throws -> OrganizationInfo {
        OrganizationInfo(id: try uuid(row.id), name: row.name, plan: row.plan, createdAt: row.createdAt)
    }

    static func info(_ row: APIKeyRow) throws -> APIKeyInfo {
        APIKeyInfo(id: try uuid(row.id), projectID: try uuid(row.projectID), name: row.name, roles: row.roles, createdAt: row.createdAt)
    }

    static func info(_ row: ServiceAccountRow) throws -> ServiceAccountInfo {
        ServiceAccountInfo(
            id: try uuid(row.id), organizationID: try uuid(row.organizationID), name: row.name, clientID: row.clientID,
            createdAt: row.createdAt, updatedAt: row.updatedAt
        )
    }
}
