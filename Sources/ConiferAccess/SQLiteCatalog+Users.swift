import ConiferCore
import Foundation
import GRDB

extension SQLiteCatalog {
    static let inviteLifetime: TimeInterval = 7 * 86_400

    // MARK: Authentication

    public func authenticateUser(email: String, password: String) async throws -> (id: UUID, generation: Int)? {
        let row = try await database.read { db in try UserRow.filter(UserRow.Columns.email == email.lowercased()).fetchOne(db) }
        // Hash even for unknown users so that timing does not reveal which emails exist.
        let stored = row?.passwordHash ?? Self.unknownUserHash
        let matches = try await passwordHashing.run { PasswordHasher.verify(password, against: stored) }
        guard matches, let row, row.passwordHash != nil else { return nil }
        return (try Self.uuid(row.id), row.passwordGeneration)
    }

    public func identity(user id: UUID, generation: Int) async throws -> Identity? {
        try await database.read { db in
            guard let user = try UserRow.fetchOne(db, key: id.lowercasedString), user.passwordGeneration == generation else { return nil }
            return try Self.identity(db, user: user)
        }
    }

    /// A user's identity in the organization it belongs to (through its organization role).
    static func identity(_ db: Database, user: UserRow) throws -> Identity? {
        let bindings = try RoleBindingRow.filter(RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.user.rawValue && RoleBindingRow.Columns.principalID == user.id).fetchAll(db)
        guard let membership = bindings.first(where: { $0.resourceType == .organization }),
              let organizationRole = OrganizationRole(rawValue: membership.role)
        else { return nil }
        var projectRoles: [UUID: ProjectRole] = [:]
        for binding in bindings where binding.resourceType == .project {
            if let project = UUID(uuidString: binding.resourceID), let role = ProjectRole(rawValue: binding.role) {
                projectRoles[project] = role
            }
        }
        return Identity(kind: .user(try uuid(user.id)), organizationID: try uuid(membership.resourceID), organizationRole: organizationRole, projectRoles: projectRoles)
    }

    // MARK: Users

    public func users(email: String?, for identity: Identity) async throws -> [UserInfo] {
        try identity.require(.membersRead)
        return try await database.read { db in
            let members = try RoleBindingRow
                .filter(RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.user.rawValue && RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue && RoleBindingRow.Columns.resourceID == identity.organizationID.lowercasedString)
                .fetchAll(db).map(\.principalID)
            var request = UserRow.filter(keys: members)
            if let email { request = request.filter(UserRow.Columns.email == email.lowercased()) }
            return try request.order(UserRow.Columns.email).fetchAll(db).map(Self.info)
        }
    }

    public func user(_ id: UUID, for identity: Identity) async throws -> UserInfo {
        try await database.read { db in try Self.info(try Self.visibleUser(db, id, identity)) }
    }

    public func removeUser(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in
            let user = try Self.visibleUser(db, id, identity)
            if identity.kind != .user(id) {
                try identity.require(.membersWrite)  // anyone may leave; removing others takes members:write
                if let target = try Self.identity(db, user: user) {
                    try identity.requireCovers(target, "user \(user.email)")
                }
            }
            try Self.keepAnOwner(db, organization: identity.organizationID.lowercasedString, losing: user.id, newRole: nil)
            let projects = try String.fetchAll(db, sql: "SELECT id FROM project WHERE organization_id = ?", arguments: [identity.organizationID.lowercasedString])
            try RoleBindingRow.filter(RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.user.rawValue && RoleBindingRow.Columns.principalID == user.id)
                .filter((RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue && RoleBindingRow.Columns.resourceID == identity.organizationID.lowercasedString)
                    || (RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.project.rawValue && projects.contains(RoleBindingRow.Columns.resourceID)))
                .deleteAll(db)
        }
    }

    static func visibleUser(_ db: Database, _ id: UUID, _ identity: Identity) throws -> UserRow {
        let member = try RoleBindingRow.filter(
            RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.user.rawValue && RoleBindingRow.Columns.principalID == id.lowercasedString
                && RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue && RoleBindingRow.Columns.resourceID == identity.organizationID.lowercasedString
        ).fetchCount(db) > 0
        guard member, identity.kind == .user(id) || identity.organizationPermissions.contains(.membersRead),
              let row = try UserRow.fetchOne(db, key: id.lowercasedString)
        else { throw ConiferError.notFound("User \(id.lowercasedString) not found.") }
        return row
    }

    // MARK: Invites

    public func createInvite(email: String, roleBindings: [InviteBinding], for identity: Identity) async throws -> (invite: InviteInfo, token: String) {
        try identity.require(.membersWrite)
        let address = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard address.count <= 320, address.split(separator: "@").count == 2, !address.contains(" ") else {
            throw ConiferError.invalidArgument("'\(email.prefix(64))' is not an email address.")
        }
        guard roleBindings.filter({ $0.resourceType == .organization }).count == 1 else {
            throw ConiferError.invalidArgument("An invite needs exactly one organization role binding.")
        }
        let token = "pcinv_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await database.write { db in
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
                    _ = try Self.visibleProject(db, project, identity, needs: .membersWrite)
                    try Self.requireGrantable(role, identity: identity, project: project)
                    bindings.append(binding)
                }
            }
            let now = Date()
            let row = InviteRow(
                id: UUID().lowercasedString, organizationID: identity.organizationID.lowercasedString, email: address,
                tokenHash: APIKeySecret.hash(token), roleBindings: bindings, status: .pending,
                expiresAt: now.addingTimeInterval(Self.inviteLifetime), createdAt: now, processedAt: nil
            )
            try row.insert(db)
            return (try Self.info(row), token)
        }
    }

    public func invites(for identity: Identity) async throws -> [InviteInfo] {
        try identity.require(.membersRead)
        return try await database.read { db in
            try InviteRow.filter(InviteRow.Columns.organizationID == identity.organizationID.lowercasedString).order(InviteRow.Columns.createdAt).fetchAll(db).map(Self.info)
        }
    }

    public func invite(_ id: UUID, for identity: Identity) async throws -> InviteInfo {
        try await database.read { db in try Self.info(try Self.visibleInvite(db, id, identity, needs: .membersRead)) }
    }

    public func deleteInvite(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in try Self.visibleInvite(db, id, identity, needs: .membersWrite, acting: true).delete(db) }
    }

    public func resendInvite(_ id: UUID, for identity: Identity) async throws -> (invite: InviteInfo, token: String) {
        let token = "pcinv_" + APIKeySecret.randomText(length: APIKeySecret.secretLength)
        return try await database.write { db in
            var row = try Self.visibleInvite(db, id, identity, needs: .membersWrite, acting: true)
            guard row.status == .pending || row.status == .expired else {
                throw ConiferError(.failedPrecondition, "Invite \(id.lowercasedString) was already accepted.")
            }
            row.tokenHash = APIKeySecret.hash(token)
            row.status = .pending
            row.expiresAt = Date().addingTimeInterval(Self.inviteLifetime)
            try row.update(db)
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
        let pending = try await database.read { db -> (invite: InviteRow, existing: UserRow?)? in
            guard let invite = try InviteRow.filter(InviteRow.Columns.tokenHash == tokenHash).fetchOne(db),
                  APIKeySecret.constantTimeEquals(invite.tokenHash, tokenHash)
            else { return nil }
            return (invite, try UserRow.filter(UserRow.Columns.email == invite.email).fetchOne(db))
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
        return try await database.write { db in
            guard var invite = try InviteRow.filter(InviteRow.Columns.tokenHash == tokenHash).fetchOne(db),
                  APIKeySecret.constantTimeEquals(invite.tokenHash, tokenHash)
            else { throw invalid }
            guard invite.status == .pending else { throw ConiferError(.failedPrecondition, "This invite was already used.") }
            guard invite.expiresAt > Date() else {
                invite.status = .expired
                try invite.update(db)
                throw ConiferError(.failedPrecondition, "This invite has expired; ask for it to be resent.")
            }
            var user = try UserRow.filter(UserRow.Columns.email == invite.email).fetchOne(db)
                ?? UserRow(id: UUID().lowercasedString, email: invite.email, name: name, passwordHash: nil, passwordGeneration: 1, createdAt: Date())
            if user.passwordHash == nil { user.passwordHash = newHash }
            if let name { user.name = name }
            try user.save(db)
            for binding in invite.roleBindings {
                let resource = binding.resourceID?.lowercasedString ?? invite.organizationID
                try Self.bind(db, .user(try Self.uuid(user.id)), resourceType: binding.resourceType, resourceID: resource, role: binding.role)
            }
            invite.status = .processed
            invite.processedAt = Date()
            try invite.update(db)
            return try Self.info(user)
        }
    }

    /// An invite of the caller's organization, after checking `permission`; with `acting`, also that the
    /// caller could grant every role the invite carries. An invite's token is a credential of the user it
    /// will make, so resending it to a caller below those roles would hand it a higher principal's key.
    static func visibleInvite(
        _ db: Database, _ id: UUID, _ identity: Identity, needs permission: OrganizationPermission, acting: Bool = false
    ) throws -> InviteRow {
        guard identity.organizationPermissions.contains(.membersRead),
              let row = try InviteRow.fetchOne(db, key: id.lowercasedString), row.organizationID == identity.organizationID.lowercasedString
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
        UserInfo(id: try uuid(row.id), email: row.email, name: row.name, createdAt: row.createdAt)
    }

    static func info(_ row: InviteRow) throws -> InviteInfo {
        let status: InviteStatus = row.status == .pending && row.expiresAt <= Date() ? .expired : row.status
        return InviteInfo(
            id: try uuid(row.id), email: row.email, status: status, roleBindings: row.roleBindings,
            expiresAt: row.expiresAt, createdAt: row.createdAt, processedAt: row.processedAt
        )
    }
}
