import ConiferCore
import Foundation

/// Role bindings, users and invites.
extension AdminService {
    public func roleBindings(_ filter: RoleBindingFilter, for pass: AdminPass) async throws -> [RoleBindingInfo] {
        let identity = pass.identity
        let role = filter.role.map(MembershipRole.init(rawValue:))
        if case .some(nil) = role { return [] }  // a role name that does not exist matches nothing
        return try await store.read { rows in
            let query = BindingQuery(
                principalType: filter.principalType, principalID: filter.principalID,
                resourceType: filter.resourceType, resourceID: filter.resourceID, role: role.flatMap { $0 }
            )
            return try rows.roleBindings(query)
                .compactMap { row in try Self.visibleBinding(rows, row, identity, needsWrite: false) ? try Self.info(row) : nil }
        }
    }

    public func roleBinding(_ id: UUID, for pass: AdminPass) async throws -> RoleBindingInfo {
        let identity = pass.identity
        return try await store.read { rows in
            guard let row = try rows.roleBinding(id), try Self.visibleBinding(rows, row, identity, needsWrite: false) else {
                throw ConiferError.notFound("Role binding \(id.lowercasedString) not found.")
            }
            return try Self.info(row)
        }
    }

    public func bindRole(
        principalType: RoleBindingInfo.PrincipalType, principalID: UUID, resourceType: RoleBindingInfo.ResourceType,
        resourceID: UUID?, role: String, for pass: AdminPass
    ) async throws -> RoleBindingInfo {
        let identity = pass.identity
        return try await store.write { rows in
            let organization = identity.organizationID
            // The principal must belong to the caller's organization.
            switch principalType {
            case .serviceAccount:
                guard try rows.serviceAccount(principalID)?.organizationID == organization else {
                    throw ConiferError.notFound("Service account \(principalID.lowercasedString) not found.")
                }
            case .user:
                let member = try !rows.roleBindings(
                    BindingQuery(principalType: .user, principalID: principalID, resourceType: .organization, resourceID: organization)
                ).isEmpty
                guard member else {
                    throw ConiferError.notFound("User \(principalID.lowercasedString) not found.")
                }
            }
            let resource: UUID
            let granted: MembershipRole
            switch resourceType {
            case .organization:
                guard resourceID == nil || resourceID == identity.organizationID else {
                    throw ConiferError.notFound("Organization \(resourceID?.lowercasedString ?? "") not found.")
                }
                try identity.require(.membersWrite)
                guard let parsed = OrganizationRole(rawValue: role) else {
                    throw ConiferError.invalidArgument("'\(role.prefix(64))' is not an organization role.")
                }
                try Self.requireGrantable(parsed, identity: identity)
                resource = organization
                granted = .organization(parsed)
            case .project:
                guard let project = resourceID else { throw ConiferError.invalidArgument("A project role binding needs resource_id.") }
                let row = try Self.visibleProject(rows, project, identity, needs: .membersWrite)
                guard let parsed = ProjectRole(rawValue: role) else {
                    throw ConiferError.invalidArgument("'\(role.prefix(64))' is not a project role.")
                }
                try Self.requireGrantable(parsed, identity: identity, project: project)
                resource = row.id
                granted = .project(parsed)
            }
            // No rebinding of a principal with more rights than the caller, in the binding's scope.
            try Self.requireCovers(rows, principalType: principalType, principalID: principalID,
                                   resourceType: resourceType, resourceID: resource, identity: identity)
            if resourceType == .organization {
                try Self.keepAnOwner(rows, organization: organization, losing: principalID, newRole: granted)
            }
            let row = RoleBindingRow(
                id: UUID(), principalType: principalType, principalID: principalID,
                resourceType: resourceType, resourceID: resource, role: granted, createdAt: Date()
            )
            try rows.replace(row)
            return try Self.info(row)
        }
    }

    public func deleteRoleBinding(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in
            guard let row = try rows.roleBinding(id), try Self.visibleBinding(rows, row, identity, needsWrite: false) else {
                throw ConiferError.notFound("Role binding \(id.lowercasedString) not found.")
            }
            guard try Self.visibleBinding(rows, row, identity, needsWrite: true) else {
                throw ConiferError.permissionDenied("This principal may not change members of that resource.")
            }
            try Self.requireCovers(rows, principalType: row.principalType, principalID: row.principalID,
                                   resourceType: row.resourceType, resourceID: row.resourceID, identity: identity)
            if row.resourceType == .organization {
                try Self.keepAnOwner(rows, organization: row.resourceID, losing: row.principalID, newRole: nil)
            }
            try rows.delete(row)
        }
    }

    /// Owners grant any organization role; others only roles inside their own powers that carry no project role.
    static func requireGrantable(_ role: OrganizationRole, identity: Identity) throws(ConiferError) {
        let grantable = identity.organizationRole == .owner
            || (role.permissions.isSubset(of: identity.organizationPermissions) && (role.impliedProjectRole == nil || role == identity.organizationRole))
        guard grantable else { throw .permissionDenied("A principal can only grant roles whose permissions it holds itself.") }
    }

    /// Refuses to change a binding of a principal that holds rights the caller lacks: on an organization
    /// binding every right counts; on a project binding, the rights in that project.
    static func requireCovers(
        _ rows: any CatalogRows, principalType: RoleBindingInfo.PrincipalType, principalID: UUID, resourceType: RoleBindingInfo.ResourceType,
        resourceID: UUID, identity: Identity
    ) throws {
        guard let target = try Self.identity(rows, principalType: principalType, principalID: principalID) else { return }
        let project = resourceType == .project ? resourceID : nil
        try identity.requireCovers(target, inProject: project, "that principal")
    }

    /// No escalation in a project: a role may only be granted by a principal holding its permissions there.
    static func requireGrantable(_ role: ProjectRole, identity: Identity, project: UUID) throws(ConiferError) {
        guard role.permissions.isSubset(of: identity.permissions(inProject: project)) else {
            throw .permissionDenied("A principal can only grant roles whose permissions it holds itself.")
        }
    }

    /// Refuses a change that would leave the organization without an owner.
    static func keepAnOwner(_ rows: any CatalogRows, organization: UUID, losing principal: UUID, newRole: MembershipRole?) throws {
        guard newRole != .organization(.owner) else { return }
        let owners = try rows.roleBindings(BindingQuery(resourceType: .organization, resourceID: organization, role: .organization(.owner)))
        if owners.count == 1, owners[0].principalID == principal {
            throw ConiferError(.failedPrecondition, "The organization's last owner cannot lose the OrgOwner role.")
        }
    }

    static func visibleBinding(_ rows: any CatalogRows, _ row: RoleBindingRow, _ identity: Identity, needsWrite: Bool) throws -> Bool {
        switch row.resourceType {
        case .organization:
            return row.resourceID == identity.organizationID
                && identity.organizationPermissions.contains(needsWrite ? .membersWrite : .membersRead)
        case .project:
            guard try rows.project(row.resourceID)?.organizationID == identity.organizationID else { return false }
            return identity.permissions(inProject: row.resourceID).contains(needsWrite ? .membersWrite : .membersRead)
        }
    }

    static func info(_ row: RoleBindingRow) throws -> RoleBindingInfo {
        RoleBindingInfo(
            id: row.id, principalType: row.principalType, principalID: row.principalID,
            resourceType: row.resourceType, resourceID: row.resourceID, role: row.role, createdAt: row.createdAt
        )
    }


    static let inviteLifetime: TimeInterval = 7 * 86_400

    // MARK: Authentication

    public func authenticateUser(email: String, password: String) async throws -> (id: UUID, generation: Int)? {
        let row = try await store.read { rows in try rows.user(email: email.lowercased()) }
        // Hash even for unknown users so that timing does not reveal which emails exist.
        let stored = row?.passwordHash ?? Self.unknownUserHash
        let matches = try await passwordHashing.run { PasswordHasher.verify(password, against: stored) }
        guard matches, let row, row.passwordHash != nil else { return nil }
        // Only once the password is right: the refusal then tells nobody else that the account exists.
        try await store.read { rows in try Self.requirePasswordAllowed(rows, user: row) }
        return (row.id, row.passwordGeneration)
    }

    public func signInAccount(email: String?, clientID: String?) async throws -> (actor: ActionOutcome.Actor, organizationID: UUID)? {
        try await store.read { rows in
            if let email, let user = try rows.user(email: email.lowercased()), let identity = try Self.identity(rows, user: user) {
                return (ActionOutcome.Actor(identity.kind), identity.organizationID)
            }
            if let clientID, let account = try rows.serviceAccount(clientID: clientID) {
                return (.serviceAccount(account.id), account.organizationID)
            }
            return nil
        }
    }

    public func organization(of subject: Identity.Kind) async throws -> UUID? {
        try await store.read { rows in
            switch subject {
            case .serviceAccount(let id): try rows.serviceAccount(id).map { $0.organizationID }
            case .user(let id): try rows.user(id).flatMap { try Self.identity(rows, user: $0)?.organizationID }
            }
        }
    }

    public func identity(user id: UUID, generation: Int) async throws -> Identity? {
        try await cachedIdentity(.user(id), generation) { rows in
            guard let user = try rows.user(id), user.passwordGeneration == generation else { return nil }
            return try Self.identity(rows, user: user)
        }
    }

    /// A user's identity in the organization it belongs to (through its organization role).
    static func identity(_ rows: any CatalogRows, user: UserRow) throws -> Identity? {
        let bindings = try rows.roleBindings(BindingQuery(principalType: .user, principalID: user.id))
        guard let membership = bindings.first(where: { $0.resourceType == .organization }),
              let organizationRole = membership.role.organizationRole
        else { return nil }
        var projectRoles: [UUID: ProjectRole] = [:]
        for binding in bindings where binding.resourceType == .project {
            if let role = binding.role.projectRole { projectRoles[binding.resourceID] = role }
        }
        return Identity(kind: .user(user.id), organizationID: membership.resourceID, organizationRole: organizationRole, projectRoles: projectRoles)
    }

    // MARK: Users

    public func users(email: String?, for pass: AdminPass) async throws -> [UserInfo] {
        let identity = pass.identity
        try identity.require(.membersRead)
        return try await store.read { rows in
            let members = try rows.roleBindings(
                BindingQuery(principalType: .user, resourceType: .organization, resourceID: identity.organizationID)
            ).map(\.principalID)
            return try rows.users(members).filter { email == nil || $0.email == email?.lowercased() }.map(Self.info)
        }
    }

    public func user(_ id: UUID, for pass: AdminPass) async throws -> UserInfo {
        let identity = pass.identity
        return try await store.read { rows in try Self.info(try Self.visibleUser(rows, id, identity)) }
    }

    public func removeUser(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in
            let user = try Self.visibleUser(rows, id, identity)
            if identity.kind != .user(id) {
                try identity.require(.membersWrite)  // anyone may leave; removing others takes members:write
                if let target = try Self.identity(rows, user: user) {
                    try identity.requireCovers(target, "user \(user.email)")
                }
            }
            try Self.keepAnOwner(rows, organization: identity.organizationID, losing: user.id, newRole: nil)
            // Every role of the user in this organization and its projects (a user may belong to others).
            let organization = identity.organizationID
            let projects = Set(try rows.projects(organization: organization).map(\.id))
            for binding in try rows.roleBindings(BindingQuery(principalType: .user, principalID: user.id))
            where binding.resourceType == .organization ? binding.resourceID == organization : projects.contains(binding.resourceID) {
                try rows.delete(binding)
            }
        }
    }

    static func visibleUser(_ rows: any CatalogRows, _ id: UUID, _ identity: Identity) throws -> UserRow {
        let member = try !rows.roleBindings(
            BindingQuery(principalType: .user, principalID: id, resourceType: .organization, resourceID: identity.organizationID)
        ).isEmpty
        guard member, identity.kind == .user(id) || identity.organizationPermissions.contains(.membersRead),
              let row = try rows.user(id)
        else { throw ConiferError.notFound("User \(id.lowercasedString) not found.") }
        return row
    }

    // MARK: Invites

    public func createInvite(email: String, roleBindings: [InviteBinding], for pass: AdminPass) async throws -> (invite: InviteInfo, token: String) {
        let identity = pass.identity
        try identity.require(.membersWrite)
        let address = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard address.count <= 320, address.split(separator: "@").count == 2, !address.contains(" ") else {
            throw ConiferError.invalidArgument("'\(email.prefix(64))' is not an email address.")
        }
        guard roleBindings.filter({ $0.resourceType == .organization }).count == 1 else {
            throw ConiferError.invalidArgument("An invite needs exactly one organization role binding.")
        }
        let token = "pcinv_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await store.write { rows in
            var bindings: [InviteBinding] = []
            for binding in roleBindings {
                switch binding.resourceType {
                case .organization:
                    guard let role = OrganizationRole(rawValue: binding.role) else {
                        throw ConiferError.invalidArgument("'\(binding.role.prefix(64))' is not an organization role.")
                    }
                    try Self.requireGrantable(role, identity: identity)
                    bindings.append(InviteBinding(resourceType: .organization, resourceID: identity.organizationID, role: binding.role))
                case .project:
                    guard let project = binding.resourceID, let role = ProjectRole(rawValue: binding.role) else {
                        throw ConiferError.invalidArgument("A project binding needs resource_id and a project role.")
                    }
                    _ = try Self.visibleProject(rows, project, identity, needs: .membersWrite)
                    try Self.requireGrantable(role, identity: identity, project: project)
                    bindings.append(binding)
                }
            }
            let now = Date()
            let row = InviteRow(
                id: UUID(), organizationID: identity.organizationID, email: address,
                tokenHash: APIKeySecret.hash(token), roleBindings: bindings, status: .pending,
                expiresAt: now.addingTimeInterval(Self.inviteLifetime), createdAt: now, processedAt: nil
            )
            try rows.save(row)
            try Self.mailInvite(rows, row, token: token, invitations)
            return (try Self.info(row), token)
        }
    }

    /// Puts the invite's message in the outbox, in the transaction that makes the invite (so one exists without
    /// the other never), when the server has mail.
    static func mailInvite(_ rows: any CatalogRows, _ invite: InviteRow, token: String, _ invitations: InvitationMail?) throws {
        guard let invitations else { return }
        let organization = try rows.organization(invite.organizationID)?.name ?? ""
        let message = invitations.message(to: invite.email, organization: organization, token: token, expires: invite.expiresAt)
        try rows.save(OutboxMail(organizationID: invite.organizationID, kind: "invite", message: message, at: Date()))
    }

    public func invites(for pass: AdminPass) async throws -> [InviteInfo] {
        let identity = pass.identity
        try identity.require(.membersRead)
        return try await store.read { rows in
            try rows.invites(organization: identity.organizationID).map(Self.info)
        }
    }

    public func invite(_ id: UUID, for pass: AdminPass) async throws -> InviteInfo {
        let identity = pass.identity
        return try await store.read { rows in try Self.info(try Self.visibleInvite(rows, id, identity, needs: .membersRead)) }
    }

    public func deleteInvite(_ id: UUID, for pass: AdminPass) async throws {
        let identity = pass.identity
        return try await store.write { rows in try rows.delete(try Self.visibleInvite(rows, id, identity, needs: .membersWrite, acting: true)) }
    }

    public func resendInvite(_ id: UUID, for pass: AdminPass) async throws -> (invite: InviteInfo, token: String) {
        let identity = pass.identity
        let token = "pcinv_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await store.write { rows in
            var row = try Self.visibleInvite(rows, id, identity, needs: .membersWrite, acting: true)
            guard row.status == .pending || row.status == .expired else {
                throw ConiferError(.failedPrecondition, "Invite \(id.lowercasedString) was already accepted.")
            }
            row.tokenHash = APIKeySecret.hash(token)
            row.status = .pending
            row.expiresAt = Date().addingTimeInterval(Self.inviteLifetime)
            try rows.save(row)
            try Self.mailInvite(rows, row, token: token, invitations)
            return (try Self.info(row), token)
        }
    }

    /// A well-formed hash no password matches, verified for unknown users so both cases cost one derivation.
    static let unknownUserHash = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    /// Accepts an invite. The token is looked up before any password work, so a caller without a valid
    /// pending invite never costs a derivation. An email that already has an account must present that
    /// account's password; a wrong one gets exactly the answer of an unknown token, so the reply does not
    /// say whether the email has an account.
    public func acceptInvite(token: String, password: String, name: String?) async throws -> UserInfo {
        try PasswordHasher.validate(password)
        let invalid = ConiferError.notFound("Invite not found, already used, or not valid for these credentials.")
        guard APIKeySecret.isPlausible(token) else { throw invalid }
        let tokenHash = APIKeySecret.hash(token)
        let pending = try await store.read { rows -> (invite: InviteRow, existing: UserRow?)? in
            guard let invite = try rows.invite(tokenHash: tokenHash),
                  APIKeySecret.constantTimeEquals(invite.tokenHash, tokenHash)
            else { return nil }
            return (invite, try rows.user(email: invite.email))
        }
        guard let pending else { throw invalid }
        guard pending.invite.status == .pending else { throw ConiferError(.failedPrecondition, "This invite was already used.") }
        // One derivation either way (verify for an existing account, hash for a new one), off the request threads.
        let existingHash = pending.existing?.passwordHash
        let newHash: String? = try await passwordHashing.run {
            if let existingHash { return PasswordHasher.verify(password, against: existingHash) ? existingHash : nil }
            return try PasswordHasher.hash(password)
        }
        guard let newHash else { throw invalid }
        return try await store.write { rows in
            guard var invite = try rows.invite(tokenHash: tokenHash),
                  APIKeySecret.constantTimeEquals(invite.tokenHash, tokenHash)
            else { throw invalid }
            guard invite.status == .pending else { throw ConiferError(.failedPrecondition, "This invite was already used.") }
            guard invite.expiresAt > Date() else {
                invite.status = .expired
                try rows.save(invite)
                throw ConiferError(.failedPrecondition, "This invite has expired; ask for it to be resent.")
            }
            var user = try rows.user(email: invite.email)
                ?? UserRow(id: UUID(), email: invite.email, name: name, passwordHash: nil, passwordGeneration: 1, createdAt: Date())
            if user.passwordHash == nil { user.passwordHash = newHash }
            if let name { user.name = name }
            try rows.save(user)
            for binding in invite.roleBindings {
                let resource = binding.resourceID ?? invite.organizationID
                // Validated when the invite was made.
                guard let role = MembershipRole(rawValue: binding.role) else { throw ConiferError(.internalError, "Invite \(invite.id) carries an unknown role.") }
                try Self.bind(rows, .user(user.id), resourceType: binding.resourceType, resourceID: resource, role: role)
            }
            invite.status = .processed
            invite.processedAt = Date()
            try rows.save(invite)
            return try Self.info(user)
        }
    }

    /// An invite of the caller's organization, after checking `permission`; with `acting`, also that the
    /// caller could grant every role the invite carries. An invite's token is a credential of the user it
    /// will make, so resending it to a caller below those roles would hand it a higher principal's key.
    static func visibleInvite(
        _ rows: any CatalogRows, _ id: UUID, _ identity: Identity, needs permission: OrganizationPermission, acting: Bool = false
    ) throws -> InviteRow {
        guard identity.organizationPermissions.contains(.membersRead),
              let row = try rows.invite(id), row.organizationID == identity.organizationID
        else { throw ConiferError.notFound("Invite \(id.lowercasedString) not found.") }
        try identity.require(permission)
        if acting {
            for binding in row.roleBindings {
                switch binding.resourceType {
                // An unreadable role counts as the highest, so only an owner may touch such an invite.
                case .organization:
                    try requireGrantable(OrganizationRole(rawValue: binding.role) ?? .owner, identity: identity)
                case .project:
                    guard let project = binding.resourceID else { throw ConiferError.permissionDenied("This invite carries a project role without a project.") }
                    try requireGrantable(ProjectRole(rawValue: binding.role) ?? .owner, identity: identity, project: project)
                }
            }
        }
        return row
    }

    static func info(_ row: UserRow) throws -> UserInfo {
        UserInfo(id: row.id, email: row.email, name: row.name, createdAt: row.createdAt)
    }

    static func info(_ row: InviteRow) throws -> InviteInfo {
        let status: InviteStatus = row.status == .pending && row.expiresAt <= Date() ? .expired : row.status
        return InviteInfo(
            id: row.id, email: row.email, status: status, roleBindings: row.roleBindings,
            expiresAt: row.expiresAt, createdAt: row.createdAt, processedAt: row.processedAt
        )
    }
}
