import ConiferCore
import Foundation
import GRDB

extension SQLiteCatalog {
    public func roleBindings(_ filter: RoleBindingFilter, for identity: Identity) async throws -> [RoleBindingInfo] {
        try await database.read { db in
            var request = RoleBindingRow.all()
            if let type = filter.principalType { request = request.filter(RoleBindingRow.Columns.principalType == type.rawValue) }
            if let id = filter.principalID { request = request.filter(RoleBindingRow.Columns.principalID == id.lowercasedString) }
            if let type = filter.resourceType { request = request.filter(RoleBindingRow.Columns.resourceType == type.rawValue) }
            if let id = filter.resourceID { request = request.filter(RoleBindingRow.Columns.resourceID == id.lowercasedString) }
            if let role = filter.role { request = request.filter(RoleBindingRow.Columns.role == role) }
            return try request.order(RoleBindingRow.Columns.createdAt, RoleBindingRow.Columns.id).fetchAll(db)
                .compactMap { row in try Self.visibleBinding(db, row, identity, needsWrite: false) ? try Self.info(row) : nil }
        }
    }

    public func roleBinding(_ id: UUID, for identity: Identity) async throws -> RoleBindingInfo {
        try await database.read { db in
            guard let row = try RoleBindingRow.fetchOne(db, key: id.lowercasedString), try Self.visibleBinding(db, row, identity, needsWrite: false) else {
                throw ConiferError.notFound("Role binding \(id.lowercasedString) not found.")
            }
            return try Self.info(row)
        }
    }

    public func bindRole(
        principalType: RoleBindingInfo.PrincipalType, principalID: UUID, resourceType: RoleBindingInfo.ResourceType,
        resourceID: UUID?, role: String, for identity: Identity
    ) async throws -> RoleBindingInfo {
        try await database.write { db in
            let organization = identity.organizationID.lowercasedString
            // The principal must belong to the caller's organization.
            switch principalType {
            case .serviceAccount:
                guard try ServiceAccountRow.fetchOne(db, key: principalID.lowercasedString)?.organizationID == organization else {
                    throw ConiferError.notFound("Service account \(principalID.lowercasedString) not found.")
                }
            case .user:
                let member = try RoleBindingRow.filter(
                    RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.user.rawValue
                        && RoleBindingRow.Columns.principalID == principalID.lowercasedString
                        && RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue
                        && RoleBindingRow.Columns.resourceID == organization
                ).fetchCount(db) > 0
                guard member else {
                    throw ConiferError.notFound("User \(principalID.lowercasedString) not found.")
                }
            }
            let resource: String
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
            case .project:
                guard let project = resourceID else { throw ConiferError.invalidArgument("A project role binding needs resource_id.") }
                let row = try Self.visibleProject(db, project, identity, needs: .membersWrite)
                guard let parsed = ProjectRole(rawValue: role) else {
                    throw ConiferError.invalidArgument("'\(role.prefix(64))' is not a project role.")
                }
                try Self.requireGrantable(parsed, identity: identity, project: project)
                resource = row.id
            }
            // No rebinding of a principal with more rights than the caller, in the binding's scope.
            try Self.requireCovers(db, principalType: principalType, principalID: principalID.lowercasedString,
                                   resourceType: resourceType, resourceID: resource, identity: identity)
            if resourceType == .organization {
                try Self.keepAnOwner(db, organization: organization, losing: principalID.lowercasedString, newRole: role)
            }
            let row = RoleBindingRow(
                id: UUID().lowercasedString, principalType: principalType, principalID: principalID.lowercasedString,
                resourceType: resourceType, resourceID: resource, role: role, createdAt: Date()
            )
            try row.insert(db, onConflict: .replace)
            return try Self.info(row)
        }
    }

    public func deleteRoleBinding(_ id: UUID, for identity: Identity) async throws {
        try await database.write { db in
            guard let row = try RoleBindingRow.fetchOne(db, key: id.lowercasedString), try Self.visibleBinding(db, row, identity, needsWrite: false) else {
                throw ConiferError.notFound("Role binding \(id.lowercasedString) not found.")
            }
            guard try Self.visibleBinding(db, row, identity, needsWrite: true) else {
                throw ConiferError.permissionDenied("This principal may not change members of that resource.")
            }
            try Self.requireCovers(db, principalType: row.principalType, principalID: row.principalID,
                                   resourceType: row.resourceType, resourceID: row.resourceID, identity: identity)
            if row.resourceType == .organization {
                try Self.keepAnOwner(db, organization: row.resourceID, losing: row.principalID, newRole: nil)
            }
            try row.delete(db)
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
        _ db: Database, principalType: RoleBindingInfo.PrincipalType, principalID: String, resourceType: RoleBindingInfo.ResourceType,
        resourceID: String, identity: Identity
    ) throws {
        guard let target = try Self.identity(db, principalType: principalType, principalID: principalID) else { return }
        let project = resourceType == .project ? UUID(uuidString: resourceID) : nil
        try identity.requireCovers(target, inProject: project, "that principal")
    }

    /// No escalation in a project: a role may only be granted by a principal holding its permissions there.
    static func requireGrantable(_ role: ProjectRole, identity: Identity, project: UUID) throws(ConiferError) {
        guard role.permissions.isSubset(of: identity.permissions(inProject: project)) else {
            throw .permissionDenied("A principal can only grant roles whose permissions it holds itself.")
        }
    }

    /// Refuses a change that would leave the organization without an owner.
    static func keepAnOwner(_ db: Database, organization: String, losing principal: String, newRole: String?) throws {
        guard newRole != OrganizationRole.owner.rawValue else { return }
        let owners = try RoleBindingRow
            .filter(
                RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue
                    && RoleBindingRow.Columns.resourceID == organization && RoleBindingRow.Columns.role == OrganizationRole.owner.rawValue
            )
            .fetchAll(db)
        if owners.count == 1, owners[0].principalID == principal {
            throw ConiferError(.failedPrecondition, "The organization's last owner cannot lose the OrgOwner role.")
        }
    }

    static func visibleBinding(_ db: Database, _ row: RoleBindingRow, _ identity: Identity, needsWrite: Bool) throws -> Bool {
        switch row.resourceType {
        case .organization:
            return row.resourceID == identity.organizationID.lowercasedString
                && identity.organizationPermissions.contains(needsWrite ? .membersWrite : .membersRead)
        case .project:
            guard let project = UUID(uuidString: row.resourceID),
                  try ProjectRow.fetchOne(db, key: row.resourceID)?.organizationID == identity.organizationID.lowercasedString
            else { return false }
            return identity.permissions(inProject: project).contains(needsWrite ? .membersWrite : .membersRead)
        }
    }

    static func info(_ row: RoleBindingRow) throws -> RoleBindingInfo {
        RoleBindingInfo(
            id: try uuid(row.id), principalType: row.principalType, principalID: try uuid(row.principalID),
            resourceType: row.resourceType, resourceID: try uuid(row.resourceID), role: row.role, createdAt: row.createdAt
        )
    }
}
