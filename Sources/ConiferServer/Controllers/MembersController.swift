import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The Admin API's member routes: service accounts, users, invites and role bindings. For routes decided on the
/// resource, the admin service resolves what the path names (unknown and invisible ones answer 404 alike) and
/// checks the caller's permission on it, and that the caller covers every right it would grant or touch.
struct MembersController {
    let admin: any AdminCatalog
    /// Invites are mailed (with their token): the answers to create and resend leave the token out.
    var mailsInvites = false

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/service-accounts", .organization(.serviceAccountsRead), handler: listServiceAccounts)
        routes.admin(.post, "/admin/service-accounts", .organization(.serviceAccountsWrite), audit: .kind(.createServiceAccount), handler: createServiceAccount)
        routes.admin(.get, "/admin/service-accounts/:service_account_id", .organization(.serviceAccountsRead), handler: describeServiceAccount)
        routes.admin(.patch, "/admin/service-accounts/:service_account_id", .organization(.serviceAccountsWrite), audit: .kind(.updateServiceAccount), handler: updateServiceAccount)
        routes.admin(.delete, "/admin/service-accounts/:service_account_id", .organization(.serviceAccountsWrite), audit: .kind(.deleteServiceAccount), handler: deleteServiceAccount)
        routes.admin(.post, "/admin/service-accounts/:service_account_id/rotate-secret", .organization(.serviceAccountsWrite), audit: .kind(.rotateServiceAccountSecret), handler: rotateSecret)

        routes.admin(.get, "/admin/users", .organization(.membersRead), handler: listUsers)
        routes.admin(.get, "/admin/users/:user_id", .organization(.membersRead), handler: describeUser)
        routes.admin(.delete, "/admin/users/:user_id", .selfOr(.membersWrite), audit: .kind(.removeOrgMember), handler: removeUser)
        routes.admin(.get, "/admin/invites", .organization(.membersRead), handler: listInvites)
        routes.admin(.post, "/admin/invites", .organization(.membersWrite), audit: .kind(.inviteOrgMember), handler: createInvite)
        routes.admin(.get, "/admin/invites/:invite_id", .organization(.membersRead), handler: describeInvite)
        routes.admin(.delete, "/admin/invites/:invite_id", .organization(.membersWrite), audit: .kind(.revokeInvite), handler: deleteInvite)
        routes.admin(.post, "/admin/invites/:invite_id/resend", .organization(.membersWrite), audit: .kind(.resendInvite), handler: resendInvite)

        routes.admin(.get, "/admin/role-bindings", .authenticated, handler: listRoleBindings)
        routes.admin(.post, "/admin/role-bindings", .membership(.membersWrite), audit: .kind(.createRoleBinding), handler: createRoleBinding)
        routes.admin(.get, "/admin/role-bindings/:role_binding_id", .membership(.membersRead), handler: describeRoleBinding)
        routes.admin(.delete, "/admin/role-bindings/:role_binding_id", .membership(.membersWrite), audit: .kind(.deleteRoleBinding), handler: deleteRoleBinding)
    }

    // MARK: Service accounts

    @Sendable func listServiceAccounts(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, DataListWire(data: try await admin.serviceAccounts(for: call.pass).map(ServiceAccountWire.init)))
    }

    @Sendable func createServiceAccount(_ call: AdminCall) async throws -> Response {
        let body = try await call.decode(CreateServiceAccountRequestWire.self)
        let created = try await createServiceAccount(name: body.name, role: try body.organizationRole(), call.context, call.pass)
        return try WireJSON.response(status: .created, ServiceAccountWithSecretWire(service_account: ServiceAccountWire(created.account), client_secret: created.clientSecret))
    }

    /// Creates a service account, named in the call's audit event; the answer holds its only copy of the secret.
    func createServiceAccount(name: String, role: OrganizationRole, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> CreatedServiceAccount {
        context.audit(name: name, ["name": .string(name), "role": .string(role.rawValue)])
        let created = try await admin.createServiceAccount(name: name, role: role, for: pass)
        context.audit(id: .string(created.account.id.lowercasedString))
        return created
    }

    @Sendable func describeServiceAccount(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("service_account_id", notFound: "Service account")
        return try WireJSON.response(status: .ok, ServiceAccountWire(try await admin.serviceAccount(id, for: call.pass)))
    }

    @Sendable func updateServiceAccount(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("service_account_id", notFound: "Service account")
        _ = try await admin.serviceAccount(id, for: call.pass)
        let body = try await call.decode(NameRequestWire.self)
        guard let name = body.name else { throw ConiferError.invalidArgument("Nothing to change: pass name.") }
        return try WireJSON.response(status: .ok, ServiceAccountWire(try await renameServiceAccount(id, to: name, call.context, call.pass)))
    }

    /// Renames a service account, named in the call's audit event.
    func renameServiceAccount(_ id: UUID, to name: String, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> ServiceAccountInfo {
        context.audit(name: name, ["name": .string(name)])
        return try await admin.renameServiceAccount(id, to: name, for: pass)
    }

    @Sendable func deleteServiceAccount(_ call: AdminCall) async throws -> Response {
        try await admin.deleteServiceAccount(try call.uuid("service_account_id", notFound: "Service account"), for: call.pass)
        return WireJSON.empty(status: .accepted)
    }

    @Sendable func rotateSecret(_ call: AdminCall) async throws -> Response {
        let rotated = try await admin.rotateServiceAccountSecret(try call.uuid("service_account_id", notFound: "Service account"), for: call.pass)
        return try WireJSON.response(status: .ok, ServiceAccountWithSecretWire(service_account: ServiceAccountWire(rotated.account), client_secret: rotated.clientSecret))
    }

    // MARK: Users and invites

    @Sendable func listUsers(_ call: AdminCall) async throws -> Response {
        let email = call.request.uri.queryParameters["email"].map(String.init)
        return try WireJSON.response(status: .ok, DataListWire(data: try await admin.users(email: email, for: call.pass).map(UserWire.init)))
    }

    @Sendable func describeUser(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, UserWire(try await admin.user(try call.uuid("user_id", notFound: "User"), for: call.pass)))
    }

    /// Removes a member from the organization; a user may remove itself (leave).
    @Sendable func removeUser(_ call: AdminCall) async throws -> Response {
        try await removeUser(try call.uuid("user_id", notFound: "User"), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Removes a member (or the caller itself), named in the call's audit event by email.
    func removeUser(_ id: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        // The email as the catalogue names the member (a member leaving may not see the member list).
        if let user = try? await admin.user(id, for: pass) { context.audit(id: .string(user.email), name: user.name) }
        try await admin.removeUser(id, for: pass)
    }

    @Sendable func listInvites(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, DataListWire(data: try await admin.invites(for: call.pass).map { InviteWire($0) }))
    }

    @Sendable func createInvite(_ call: AdminCall) async throws -> Response {
        let created = try await createInvite(try await call.decode(CreateInviteRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .created, InviteWire(created.invite, token: mailsInvites ? nil : created.token))
    }

    /// Invites a member (mailed when the server sends mail), named in the call's audit event by email.
    func createInvite(_ body: CreateInviteRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> (invite: InviteInfo, token: String) {
        context.audit(
            id: .array([.string(body.email.lowercased())]),
            ["role_bindings": .array(body.role_bindings.map { .object(["resource_type": .string($0.resource_type), "role": .string($0.role)]) })]
        )
        return try await admin.createInvite(email: body.email, roleBindings: try body.bindings(), for: pass)
    }

    @Sendable func describeInvite(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, InviteWire(try await admin.invite(try call.uuid("invite_id", notFound: "Invite"), for: call.pass)))
    }

    @Sendable func deleteInvite(_ call: AdminCall) async throws -> Response {
        try await admin.deleteInvite(try call.uuid("invite_id", notFound: "Invite"), for: call.pass)
        return WireJSON.empty(status: .accepted)
    }

    @Sendable func resendInvite(_ call: AdminCall) async throws -> Response {
        let resent = try await admin.resendInvite(try call.uuid("invite_id", notFound: "Invite"), for: call.pass)
        return try WireJSON.response(status: .ok, InviteWire(resent.invite, token: mailsInvites ? nil : resent.token))
    }

    // MARK: Role bindings

    @Sendable func listRoleBindings(_ call: AdminCall) async throws -> Response {
        let query = call.request.uri.queryParameters
        func uuid(_ name: String) throws(ConiferError) -> UUID? {
            guard let raw = query[Substring(name)] else { return nil }
            guard let id = UUID(uuidString: String(raw)) else { throw .invalidArgument("\(name) must be a UUID.") }
            return id
        }
        let filter = RoleBindingFilter(
            principalType: try query["principal_type"].map { (raw) throws(ConiferError) in
                guard let type = RoleBindingInfo.PrincipalType(rawValue: String(raw)) else { throw .invalidArgument("Unknown principal_type.") }
                return type
            },
            principalID: try uuid("principal_id"),
            resourceType: try query["resource_type"].map { (raw) throws(ConiferError) in
                guard let type = RoleBindingInfo.ResourceType(rawValue: String(raw)) else { throw .invalidArgument("Unknown resource_type.") }
                return type
            },
            resourceID: try uuid("resource_id"),
            role: query["role"].map(String.init)
        )
        if filter.principalID != nil, filter.principalType == nil {
            throw ConiferError.invalidArgument("principal_id requires principal_type.")
        }
        let bindings = try await admin.roleBindings(filter, for: call.pass)
        return try WireJSON.response(status: .ok, DataListWire(data: bindings.map(RoleBindingWire.init)))
    }

    /// The resource is named in the body, so this route reads the (small) body first; nothing is stored
    /// before the admin service has checked the caller's rights on that resource.
    @Sendable func createRoleBinding(_ call: AdminCall) async throws -> Response {
        let binding = try await createRoleBinding(try await call.decode(CreateRoleBindingRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .created, RoleBindingWire(binding))
    }

    /// Binds a role (a user's binding replaces its role on that resource), audited as the membership change it is.
    func createRoleBinding(_ body: CreateRoleBindingRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> RoleBindingInfo {
        guard let principal = UUID(uuidString: body.principal_id) else { throw ConiferError.notFound("Principal \(body.principal_id.prefix(64)) not found.") }
        let resource: UUID?
        if let raw = body.resource_id {
            guard let id = UUID(uuidString: raw) else { throw ConiferError.notFound("Resource \(raw.prefix(64)) not found.") }
            resource = id
        } else {
            resource = nil
        }
        let principalType = try body.principalType()
        let resourceType = try body.resourceType()
        context.audit([
            "principal_type": .string(body.principal_type), "principal_id": .string(body.principal_id),
            "resource_type": .string(body.resource_type), "role": .string(body.role),
        ])
        var replaces = false
        if principalType == .user, resourceType == .project, let resource {
            let existing = try? await admin.roleBindings(
                RoleBindingFilter(principalType: .user, principalID: principal, resourceType: .project, resourceID: resource), for: pass
            )
            replaces = existing?.isEmpty == false
        }
        if principalType == .user {
            await auditMembership(context, pass, user: principal, resourceType: resourceType, project: resource, role: body.role, replaces: replaces)
        }
        let binding = try await admin.bindRole(
            principalType: principalType, principalID: principal, resourceType: resourceType, resourceID: resource, role: body.role, for: pass
        )
        if principalType == .serviceAccount { context.audit(id: .string(binding.id.lowercasedString)) }
        return binding
    }

    @Sendable func describeRoleBinding(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("role_binding_id", notFound: "Role binding")
        return try WireJSON.response(status: .ok, RoleBindingWire(try await admin.roleBinding(id, for: call.pass)))
    }

    @Sendable func deleteRoleBinding(_ call: AdminCall) async throws -> Response {
        _ = try await deleteRoleBinding(try call.uuid("role_binding_id", notFound: "Role binding"), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Removes a role binding, audited as the membership change it is for a user; returns what it bound.
    func deleteRoleBinding(_ id: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> RoleBindingInfo {
        let binding = try await admin.roleBinding(id, for: pass)
        if binding.principalType == .user {
            await auditMembership(
                context, pass, user: binding.principalID, resourceType: binding.resourceType, project: binding.resourceID, role: binding.role.rawValue, removed: true
            )
        }
        try await admin.deleteRoleBinding(id, for: pass)
        return binding
    }

    /// A user's role binding is a membership change in the catalogue's terms: a new or changed role in the
    /// organization or a project, or a removal. Named before the change, so a refused one is recorded as what it
    /// tried (the member's email when the caller may see it, else its id). A service account's binding stays a
    /// role-binding event.
    private func auditMembership(
        _ context: ConiferRequestContext, _ pass: AdminPass, user: UUID, resourceType: RoleBindingInfo.ResourceType, project: UUID?, role: String, replaces: Bool = false, removed: Bool = false
    ) async {
        let email = JSONValue.string((try? await admin.user(user, for: pass))?.email ?? user.lowercasedString)
        switch (resourceType, removed) {
        case (.organization, false):
            context.audit(kind: .updateOrgMemberRole, id: .object(["user": email, "role": .string(role)]))
        case (.organization, true):
            context.audit(kind: .removeOrgMember, id: email)
        case (.project, false) where replaces:
            context.audit(kind: .updateProjectMemberRole, id: .object(["user": email, "role": .string(role)]))
        case (.project, false):
            context.audit(kind: .inviteProjectMember, id: .array([email]))
        case (.project, true):
            let name = if let project { (try? await admin.project(project, for: pass))?.name ?? project.lowercasedString } else { "" }
            context.audit(kind: .removeProjectMember, id: .object(["user": email, "project": .string(name)]))
        }
    }
}
