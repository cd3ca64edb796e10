import ConiferCore
import Foundation

/// The Admin API's rules over the catalog's rows: who may see and change organizations, projects, API
/// keys, service accounts, role bindings, users and invites. Visibility (a resource the caller cannot see
/// answers "not found" whether or not it exists), no escalation (nobody grants or acts on rights it lacks,
/// SECURITY.md rule 9), plan gates and the last-owner rule all live here, decided inside the same
/// transaction as the change; `CatalogStore` only stores and loads rows.
public struct AdminService: AdminCatalog {
    let store: any CatalogStore
    /// Where password hashes are derived: off the request threads, with bounded concurrency.
    let passwordHashing: PasswordHashingQueue
    /// Access tokens' identities, for as long as the catalog does not change.
    let cache = CatalogCache()
    /// The message an invite sends when the server has mail (nil: the inviter passes the token on).
    public var invitations: InvitationMail?

    init(store: any CatalogStore, passwordHashing: PasswordHashingQueue = PasswordHashingQueue()) {
        self.store = store
        self.passwordHashing = passwordHashing
    }

    /// The service over the SQLite catalog (the one the server and the operator commands use).
    public init(catalog: SQLiteCatalog) {
        self.init(store: catalog)
    }

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
        return try await store.write { rows -> CreatedServiceAccount? in
            guard let organization = try rows.firstOrganization(), try rows.serviceAccounts(organization: organization.id).isEmpty
            else { return nil }
            return try Self.insertServiceAccount(
                rows, organizationID: organization.id, name: "bootstrap", role: .owner, clientID: clientID, clientSecret: clientSecret
            )
        }
    }

    public func setPlan(_ plan: Plan, organization: UUID?) async throws -> OrganizationInfo {
        try await store.write { rows in
            guard var row = try organization.map({ try rows.organization($0) }) ?? rows.firstOrganization() else {
                throw ConiferError.notFound("Organization \(organization?.lowercasedString ?? "") not found.")
            }
            row.plan = plan
            try rows.save(row)
            return try Self.info(row)
        }
    }

    static func plan(_ rows: any CatalogRows, organization: UUID) throws -> Plan {
        try rows.organization(organization)?.plan ?? .starter
    }

    public func authenticateServiceAccount(clientID: String, clientSecret: String) async throws -> (id: UUID, generation: Int)? {
        guard APIKeySecret.isPlausible(clientID), APIKeySecret.isPlausible(clientSecret) else { return nil }
        let presented = APIKeySecret.hash(clientSecret)
        return try await store.read { rows in
            guard let account = try rows.serviceAccount(clientID: clientID),
                  APIKeySecret.constantTimeEquals(account.secretHash, presented)
            else { return nil }
            return (account.id, account.secretGeneration)
        }
    }

    public func identity(serviceAccount id: UUID, generation: Int) async throws -> Identity? {
        try await cachedIdentity(.serviceAccount(id), generation) { rows in
            guard let account = try rows.serviceAccount(id), account.secretGeneration == generation else {
                return nil
            }
            return try Self.identity(rows, account: account)
        }
    }

    /// An access token subject's identity: kept while the catalog's version holds (any change of a role, a secret
    /// or a password moves it), read by `load` otherwise.
    func cachedIdentity(
        _ subject: Identity.Kind, _ generation: Int, load: @escaping @Sendable (any CatalogRows) throws -> Identity?
    ) async throws -> Identity? {
        let key = CatalogCache.IdentityKey(subject: subject, generation: generation)
        let version = try await store.version()
        if let known = cache.identity(key, at: version) { return known }
        let identity = try await store.read(load)
        if let identity { cache.remember(identity, key, at: version) }
        return identity
    }

    static func identity(_ rows: any CatalogRows, account: ServiceAccountRow) throws -> Identity {
        let bindings = try rows.roleBindings(BindingQuery(principalType: .serviceAccount, principalID: account.id))
        var organizationRole: OrganizationRole?
        var projectRoles: [UUID: ProjectRole] = [:]
        for binding in bindings {
            switch binding.resourceType {
            case .organization where binding.resourceID == account.organizationID:
                organizationRole = binding.role.organizationRole
            case .project:
                if let role = binding.role.projectRole { projectRoles[binding.resourceID] = role }
            case .organization:
                continue
            }
        }
        return Identity(
            kind: .serviceAccount(account.id), organizationID: account.organizationID,
            organizationRole: organizationRole, projectRoles: projectRoles
        )
    }

    static func insertServiceAccount(
        _ rows: any CatalogRows, organizationID: UUID, name: String, role: OrganizationRole, clientID: String? = nil, clientSecret: String? = nil
    ) throws -> CreatedServiceAccount {
        let now = Date()
        let secret = clientSecret ?? "pcsa_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        let row = ServiceAccountRow(
            id: UUID(), organizationID: organizationID, name: name,
            clientID: clientID ?? APIKeySecret.randomText(length: 24), secretHash: APIKeySecret.hash(secret),
            secretGeneration: 1, createdAt: now, updatedAt: now
        )
        try rows.save(row)
        try rows.replace(RoleBindingRow(
            id: UUID(), principalType: .serviceAccount, principalID: row.id,
            resourceType: .organization, resourceID: organizationID, role: .organization(role), createdAt: now
        ))
        return CreatedServiceAccount(account: try info(row), clientSecret: secret)
    }

    // MARK: Organizations

    public func organizations(for pass: AdminPass) async throws -> [OrganizationInfo] {
        let identity = pass.identity
        return try await store.read { rows in
            guard let row = try rows.organization(identity.organizationID) else { return [] }
            return [try Self.info(row)]
        }
    }

    public func organization(_ id: UUID, for pass: AdminPass) async throws -> OrganizationInfo {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        return try await store.read { rows in
            guard let row = try rows.organization(id) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) not found.")
            }
            return try Self.info(row)
        }
    }

    public func renameOrganization(_ id: UUID, to name: String, for pass: AdminPass) async throws -> OrganizationInfo {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.organizationWrite)
        try AdminRules.validateProjectName(name)
        return try await store.write { rows in
            guard var row = try rows.organization(id) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) not found.")
            }
            row.name = name
            try rows.save(row)
            return try Self.info(row)
        }
    }

    public func deleteOrganization(_ id: UUID, for pass: AdminPass) async throws -> DeletedOrganization {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.organizationDelete)
        return try await store.write { rows in
            guard let row = try rows.organization(id) else {
                throw ConiferError.notFound("Organization \(id.lowercasedString) not found.")
            }
            let projects = try rows.projects(organization: row.id)
            let indexes = try projects.flatMap { try rows.indexes(project: $0.id) }
            let guarded = indexes.filter { $0.deletionProtection == .enabled }.map(\.name)
            guard guarded.isEmpty else {
                throw ConiferError.failedPrecondition(
                    "Deletion protection is enabled for index(es) \(guarded.sorted().prefix(10).joined(separator: ", ")); disable it before deleting the organization."
                )
            }
            for index in indexes { try rows.deleteIndex(index.id) }
            let backupIDs = try projects.flatMap { try rows.deleteBackups(project: $0.id) }
            for project in projects { try rows.delete(project) }
            try rows.delete(row)
            return DeletedOrganization(organization: try Self.info(row), indexIDs: indexes.map(\.id), backupIDs: backupIDs)
        }
    }

    public func usage(organization id: UUID, from: Date, to: Date, for pass: AdminPass) async throws -> OrganizationUsage {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingRead)
        return try await store.read { rows in
            guard let row = try rows.organization(id) else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
            guard row.plan != .starter else { throw ConiferError(.paymentRequired, "Usage reports need the Standard or Enterprise plan.") }
            var projects: [UUID: (name: String, tags: [String: String])] = [:]
            var resourceTags: [UUID: [String: String]] = [:]
            for project in try rows.projects(organization: id) {
                projects[project.id] = (project.name, try rows.tags(of: project))
                for index in try rows.indexes(project: project.id) { resourceTags[index.id] = index.tags }
            }
            let lines = try rows.usage(organization: id, from: from, to: to).map { entry in
                let project = projects[entry.projectID]
                return UsageLine(
                    entry: entry, projectName: project?.name ?? "", projectTags: project?.tags ?? [:], resourceTags: resourceTags[entry.resourceID] ?? [:]
                )
            }
            return OrganizationUsage(organization: try Self.info(row), lines: lines)
        }
    }

    public func billing(organization id: UUID, for pass: AdminPass) async throws -> BillingDetails {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingRead)
        return try await store.read { rows in
            guard let row = try rows.organization(id) else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
            return BillingDetails(organization: try Self.info(row), contact: try rows.billingContact(of: row))
        }
    }

    public func updateBilling(organization id: UUID, contact: BillingContact, for pass: AdminPass) async throws -> BillingDetails {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.billingWrite)
        try contact.validate()
        return try await store.write { rows in
            guard var row = try rows.organization(id) else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
            try rows.setBillingContact(contact, of: &row)
            try rows.save(row)
            return BillingDetails(organization: try Self.info(row), contact: contact)
        }
    }

    /// The caller's organization's messages (invites, alerts) and what became of them, newest first. Owners only.
    public func mail(organization id: UUID, for pass: AdminPass) async throws -> [OutboxMail] {
        let identity = pass.identity
        try Self.requireOwn(id, identity)
        try identity.require(.organizationWrite)
        return try await store.read { rows in try rows.mail(organization: id, limit: 200) }
    }

    // MARK: Projects

    public func projects(for pass: AdminPass) async throws -> [ProjectInfo] {
        let identity = pass.identity
        return try await store.read { rows in
            try rows.projects(organization: identity.organizationID)
                .filter { identity.canSee(project: $0.id) }
                .map { try Self.info($0, rows) }
        }
    }

    public func project(_ id: UUID, for pass: AdminPass) async throws -> ProjectInfo {
        let identity = pass.identity
        return try await store.read { rows in try Self.info(try Self.visibleProject(rows, id, identity, needs: .projectRead), rows) }
    }

    public func createProject(
        name: String, maxPods: Int, forceEncryptionWithCMEK: Bool, tags: [String: String] = [:], for pass: AdminPass
    ) async throws -> ProjectInfo {
        let identity = pass.identity
        try identity.require(.projectsCreate)
        try AdminRules.validateProjectName(name)
        guard maxPods >= 0 else { throw ConiferError.invalidArgument("max_pods must not be negative.") }
        try AdminRules.validateProjectTags(tags)
        return try await store.write { rows in
            let now = Date()
            var row = ProjectRow(
                id: UUID(), organizationID: identity.organizationID, name: name, createdAt: now,
                maxPods: maxPods, forceEncryptionWithCMEK: forceEncryptionWithCMEK
            )
            try rows.setTags(tags.filter { !$0.value.isEmpty }, of: &row)
            try rows.save(row)
            // The creator owns what it creates (unless its organization role already makes it an owner).
            if identity.organizationRole?.impliedProjectRole != .owner {
                try Self.bind(rows, identity.kind, resourceType: .project, resourceID: row.id, role: .project(.owner))
            }
            return try Self.info(row, rows)
        }
    }

    public func updateProject(_ id: UUID, _ change: ProjectChange, for pass: AdminPass) async throws -> ProjectInfo {
        let identity = pass.identity
        if let name = change.name { try AdminRules.validateProjectName(name) }
        if let maxPods = change.maxPods, maxPods < 0 { throw ConiferError.invalidArgument("max_pods must not be negative.") }
        if let tags = change.tags { try AdminRules.validateProjectTags(tags) }
        return try await store.write { rows in
            var row = try Self.visibleProject(rows, id, identity, needs: .projectWrite)
            if let change = change.tags {
                var tags = try rows.tags(of: row)
                for (key, value) in change { tags[key] = value.isEmpty ? nil : value }
                try AdminRules.validateProjectTags(tags)
                try rows.setTags(tags, of: &row)
            }
            if let name = change.name { row.name = name }
            if let maxPods = change.maxPods { row.maxPods = maxPods }
            if let force = change.forceEncryptionWithCMEK { row.forceEncryptionWithCMEK = force }
            if let privateOnly = change.privateEndpointAccessOnly {
                if privateOnly, try Self.plan(rows, organization: identity.organizationID) != .enterprise {
                    throw ConiferError(.paymentRequired, "Private endpoints need the Enterprise plan.")
                }
                row.privateEndpointAccessOnly = privateOnly
            }
            try rows.save(row)
            return try Self.info(row, rows)
        }
    }

    public func deleteProject(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in
            let row = try Self.visibleProject(rows, id, identity, needs: .projectDelete)
            let indexes = try rows.indexCount(project: row.id)
            guard indexes == 0 else {
                throw ConiferError(.failedPrecondition, "Project \(row.name) still holds \(indexes) index(es); delete them before the project.")
            }
            let backups = try rows.backupCount(project: row.id)
            guard backups == 0 else {
                throw ConiferError(.failedPrecondition, "Project \(row.name) still holds \(backups) backup(s); delete them before the project.")
            }
            try rows.delete(row)  // with its API keys and the bindings on it
        }
    }

    // MARK: Private endpoints

    public func privateEndpoints(inProject project: UUID, for pass: AdminPass) async throws -> [PrivateEndpoint] {
        let identity = pass.identity
        return try await store.read { rows in
            try rows.privateEndpoints(project: try Self.visibleProject(rows, project, identity, needs: .projectRead).id)
        }
    }

    public func privateEndpoint(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> PrivateEndpoint {
        let identity = pass.identity
        return try await store.read { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectRead)
            guard let endpoint = try rows.privateEndpoints(project: row.id).first(where: { $0.id == id }) else {
                throw ConiferError.notFound("Private endpoint \(id.lowercasedString) not found.")
            }
            return endpoint
        }
    }

    public func createPrivateEndpoint(
        inProject project: UUID, name: String, region: String, vpcEndpointID: String?, allowedCIDRs: [String]?, for pass: AdminPass
    ) async throws -> PrivateEndpoint {
        let identity = pass.identity
        try AdminRules.validateName(name, what: "private endpoint")
        let blocks = try AdminRules.validatePrivateEndpoint(region: region, vpcEndpointID: vpcEndpointID, allowedCIDRs: allowedCIDRs)
        return try await store.write { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectWrite)
            guard try Self.plan(rows, organization: identity.organizationID) == .enterprise else {
                throw ConiferError(.paymentRequired, "Private endpoints need the Enterprise plan.")
            }
            let existing = try rows.privateEndpoints(project: row.id)
            guard existing.count < PrivateEndpoint.maxPerProject else {
                throw ConiferError(
                    .quotaExceeded,
                    "Project \(row.name) already has \(existing.count) private endpoints, the most a project may have (\(PrivateEndpoint.maxPerProject)); delete one first."
                )
            }
            let endpoint = PrivateEndpoint(
                id: UUID(), projectID: project, name: name, region: region, vpcEndpointID: vpcEndpointID, allowedCIDRs: blocks, createdAt: Date()
            )
            try rows.insert(endpoint)
            return endpoint
        }
    }

    public func deletePrivateEndpoint(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> PrivateEndpoint {
        let identity = pass.identity
        return try await store.write { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectWrite)
            guard let endpoint = try rows.privateEndpoints(project: row.id).first(where: { $0.id == id }) else {
                throw ConiferError.notFound("Private endpoint \(id.lowercasedString) not found.")
            }
            try rows.deletePrivateEndpoint(id)
            return endpoint
        }
    }

    // MARK: Customer-managed keys

    public func cmekKeys(inProject project: UUID, for pass: AdminPass) async throws -> [CMEKKey] {
        let identity = pass.identity
        return try await store.read { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectRead)
            return try rows.cmekKey(project: row.id).map { [$0] } ?? []
        }
    }

    public func createCMEKKey(
        inProject project: UUID, name: String, roleARN: String?, keyARN: String, externalID: String?, for pass: AdminPass
    ) async throws -> CMEKKey {
        let identity = pass.identity
        try AdminRules.validateName(name, what: "CMEK key")
        try AdminRules.validateCMEK(roleARN: roleARN, keyARN: keyARN, externalID: externalID)
        return try await store.write { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectWrite)
            guard try Self.plan(rows, organization: identity.organizationID) == .enterprise else {
                throw ConiferError(.paymentRequired, "Customer-managed encryption keys need the Enterprise plan.")
            }
            if let existing = try rows.cmekKey(project: row.id) {
                throw ConiferError.alreadyExists("Project \(row.name) already has its customer-managed key (\(existing.id.lowercasedString)); it cannot be changed.")
            }
            let indexes = try rows.indexCount(project: row.id)
            guard indexes == 0 else {
                throw ConiferError.failedPrecondition(
                    "Project \(row.name) already holds \(indexes) index(es); a customer-managed key is set before the first index."
                )
            }
            let key = CMEKKey(
                id: UUID(), projectID: project, name: name, roleARN: roleARN, keyARN: keyARN, externalID: externalID, createdAt: Date()
            )
            try rows.insert(key)
            return key
        }
    }

    public func deleteCMEKKey(_ id: UUID, inProject project: UUID, for pass: AdminPass) async throws -> CMEKKey {
        let identity = pass.identity
        return try await store.write { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .projectWrite)
            guard let key = try rows.cmekKey(project: row.id), key.id == id else {
                throw ConiferError.notFound("CMEK key \(id.lowercasedString) not found.")
            }
            let indexes = try rows.indexCount(project: row.id)
            guard indexes == 0 else {
                throw ConiferError.failedPrecondition(
                    "Project \(row.name) still holds \(indexes) index(es) under this key; delete them before the key."
                )
            }
            try rows.deleteCMEKKey(id)
            return key
        }
    }

    /// A project of the identity's organization that it can see, after checking `needs`; otherwise not found / denied.
    static func visibleProject(_ rows: any CatalogRows, _ id: UUID, _ identity: Identity, needs permission: Permission) throws -> ProjectRow {
        guard identity.canSee(project: id),
              let row = try rows.project(id),
              row.organizationID == identity.organizationID
        else { throw ConiferError.notFound("Project \(id.lowercasedString) not found.") }
        try identity.require(permission, inProject: id)
        return row
    }

    static func bind(_ rows: any CatalogRows, _ kind: Identity.Kind, resourceType: RoleBindingInfo.ResourceType, resourceID: UUID, role: MembershipRole) throws {
        let (type, principal): (RoleBindingInfo.PrincipalType, UUID) = switch kind {
        case .serviceAccount(let id): (.serviceAccount, id)
        case .user(let id): (.user, id)
        }
        try rows.replace(RoleBindingRow(
            id: UUID(), principalType: type, principalID: principal, resourceType: resourceType,
            resourceID: resourceID, role: role, createdAt: Date()
        ))
    }

    // MARK: API keys

    public func apiKeys(inProject project: UUID, for pass: AdminPass) async throws -> [APIKeyInfo] {
        let identity = pass.identity
        return try await store.read { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .apiKeysRead)
            return try rows.apiKeys(project: row.id).map(Self.info)
        }
    }

    public func apiKey(_ id: UUID, for pass: AdminPass) async throws -> APIKeyInfo {
        let identity = pass.identity
        return try await store.read { rows in try Self.info(try Self.visibleKey(rows, id, identity, needs: .apiKeysRead)) }
    }

    public func createAPIKey(inProject project: UUID, name: String, roles: [APIKeyRole], for pass: AdminPass) async throws -> CreatedAPIKey {
        let identity = pass.identity
        try AdminRules.validateName(name, what: "key")
        try AdminRules.validateRoles(roles)
        try Self.requireGrantable(roles, identity: identity, project: project)
        let (value, label) = APIKeySecret.generate()
        let id = UUID()
        try await store.write { rows in
            let row = try Self.visibleProject(rows, project, identity, needs: .apiKeysWrite)
            if !(try Self.plan(rows, organization: identity.organizationID)).allowsKeyRoles, roles != [.projectEditor] {
                throw ConiferError(.paymentRequired, "On the Starter plan, API keys have the ProjectEditor role only.")
            }
            try rows.save(APIKeyRow(
                id: id, projectID: row.id, name: name, label: label,
                secretHash: APIKeySecret.hash(value), roles: roles, createdAt: Date()
            ))
        }
        return CreatedAPIKey(id: id, projectID: project, name: name, roles: roles, value: value)
    }

    public func updateAPIKey(_ id: UUID, name: String?, roles: [APIKeyRole]?, for pass: AdminPass) async throws -> APIKeyInfo {
        let identity = pass.identity
        if let name { try AdminRules.validateName(name, what: "key") }
        if let roles { try AdminRules.validateRoles(roles) }
        return try await store.write { rows in
            var row = try Self.visibleKey(rows, id, identity, needs: .apiKeysWrite)
            try Self.requireGrantable(row.roles, identity: identity, project: row.projectID)
            if let roles, roles != row.roles, !(try Self.plan(rows, organization: identity.organizationID)).allowsKeyRoles {
                throw ConiferError(.paymentRequired, "On the Starter plan, the roles of an API key cannot be changed.")
            }
            if let roles {
                try Self.requireGrantable(roles, identity: identity, project: row.projectID)
                row.roles = roles
            }
            if let name { row.name = name }
            try rows.save(row)
            return try Self.info(row)
        }
    }

    public func deleteAPIKey(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in
            let row = try Self.visibleKey(rows, id, identity, needs: .apiKeysWrite)
            // A key is a principal too: only a caller holding all of its rights may change or delete it.
            try Self.requireGrantable(row.roles, identity: identity, project: row.projectID)
            try rows.delete(row)
        }
    }

    static func visibleKey(_ rows: any CatalogRows, _ id: UUID, _ identity: Identity, needs permission: Permission) throws -> APIKeyRow {
        guard let row = try rows.apiKey(id),
              identity.canSee(project: row.projectID),
              try rows.project(row.projectID)?.organizationID == identity.organizationID
        else { throw ConiferError.notFound("API key \(id.lowercasedString) not found.") }
        try identity.require(permission, inProject: row.projectID)
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

    public func serviceAccounts(for pass: AdminPass) async throws -> [ServiceAccountInfo] {
        let identity = pass.identity
        try identity.require(.serviceAccountsRead)
        return try await store.read { rows in
            try rows.serviceAccounts(organization: identity.organizationID).map(Self.info)
        }
    }

    public func serviceAccount(_ id: UUID, for pass: AdminPass) async throws -> ServiceAccountInfo {
        let identity = pass.identity
        return try await store.read { rows in try Self.info(try Self.visibleAccount(rows, id, identity, needs: .serviceAccountsRead)) }
    }

    public func createServiceAccount(name: String, role: OrganizationRole, for pass: AdminPass) async throws -> CreatedServiceAccount {
        let identity = pass.identity
        try identity.require(.serviceAccountsWrite)
        try AdminRules.validateName(name, what: "service account")
        try Self.requireGrantable(role, identity: identity)
        return try await store.write { rows in
            guard try Self.plan(rows, organization: identity.organizationID).allowsServiceAccounts else {
                throw ConiferError(.paymentRequired, "Service accounts need the Enterprise plan.")
            }
            return try Self.insertServiceAccount(rows, organizationID: identity.organizationID, name: name, role: role)
        }
    }

    public func renameServiceAccount(_ id: UUID, to name: String, for pass: AdminPass) async throws -> ServiceAccountInfo {
        let identity = pass.identity
        try AdminRules.validateName(name, what: "service account")
        return try await store.write { rows in
            var row = try Self.visibleAccount(rows, id, identity, needs: .serviceAccountsWrite, acting: true)
            row.name = name
            row.updatedAt = Date()
            try rows.save(row)
            return try Self.info(row)
        }
    }

    public func rotateServiceAccountSecret(_ id: UUID, for pass: AdminPass) async throws -> CreatedServiceAccount {
        let identity = pass.identity
        let secret = "pcsa_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await store.write { rows in
            var row = try Self.visibleAccount(rows, id, identity, needs: .serviceAccountsWrite, acting: true)
            row.secretHash = APIKeySecret.hash(secret)
            row.secretGeneration += 1  // revokes every token issued for the old secret
            row.updatedAt = Date()
            try rows.save(row)
            return CreatedServiceAccount(account: try Self.info(row), clientSecret: secret)
        }
    }

    public func deleteServiceAccount(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in
            let row = try Self.visibleAccount(rows, id, identity, needs: .serviceAccountsWrite, acting: true)
            try Self.keepAnOwner(rows, organization: row.organizationID, losing: row.id, newRole: nil)
            try rows.delete(row)  // with its role bindings
        }
    }

    /// A service account of the caller's organization, after checking `permission`; with `acting`, also
    /// that the caller covers every right of the account (SECURITY.md rule 9).
    static func visibleAccount(
        _ rows: any CatalogRows, _ id: UUID, _ identity: Identity, needs permission: OrganizationPermission, acting: Bool = false
    ) throws -> ServiceAccountRow {
        guard identity.organizationPermissions.contains(.serviceAccountsRead),
              let row = try rows.serviceAccount(id),
              row.organizationID == identity.organizationID
        else { throw ConiferError.notFound("Service account \(id.lowercasedString) not found.") }
        try identity.require(permission)
        if acting {
            try identity.requireCovers(try Self.identity(rows, account: row), "service account \(row.name)")
        }
        return row
    }

    /// The identity of a user or service account, as stored now.
    static func identity(_ rows: any CatalogRows, principalType: RoleBindingInfo.PrincipalType, principalID: UUID) throws -> Identity? {
        switch principalType {
        case .serviceAccount: try rows.serviceAccount(principalID).map { try identity(rows, account: $0) }
        case .user: try rows.user(principalID).flatMap { try identity(rows, user: $0) }
        }
    }

    // MARK: Row conversions

    static func info(_ row: ProjectRow, _ rows: any CatalogRows) throws -> ProjectInfo {
        ProjectInfo(
            id: row.id, organizationID: row.organizationID, name: row.name, maxPods: row.maxPods,
            forceEncryptionWithCMEK: row.forceEncryptionWithCMEK, privateEndpointAccessOnly: row.privateEndpointAccessOnly, createdAt: row.createdAt,
            tags: try rows.tags(of: row)
        )
    }

    /// 404 unless `id` is the caller's own organization: another organization's id reveals nothing.
    static func requireOwn(_ id: UUID, _ identity: Identity) throws(ConiferError) {
        guard id == identity.organizationID else { throw ConiferError.notFound("Organization \(id.lowercasedString) not found.") }
    }

    static func info(_ row: OrganizationRow) throws -> OrganizationInfo {
        let pending = row.plan != .starter && row.sealedBillingContact == nil
        return OrganizationInfo(id: row.id, name: row.name, plan: row.plan, createdAt: row.createdAt, paymentStatus: pending ? "PaymentPending" : "Active")
    }

    static func info(_ row: APIKeyRow) throws -> APIKeyInfo {
        APIKeyInfo(id: row.id, projectID: row.projectID, name: row.name, roles: row.roles, createdAt: row.createdAt)
    }

    static func info(_ row: ServiceAccountRow) throws -> ServiceAccountInfo {
        ServiceAccountInfo(
            id: row.id, organizationID: row.organizationID, name: row.name, clientID: row.clientID,
            createdAt: row.createdAt, updatedAt: row.updatedAt
        )
    }
}
