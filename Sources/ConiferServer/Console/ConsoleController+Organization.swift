import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The console's organization pages: its name and deletion, members with their roles and invitations, and service
/// accounts (renamed, rotated, deleted) with the one-time secret page. Each form calls the Admin API controller's own
/// operation with the signed-in user's pass.
extension ConsoleController {
    func registerOrganizationPages(in routes: RouteTable) {
        routes.console(.get, "/console/members", .organization(.membersRead), handler: membersPage)
        routes.console(.post, "/console/invites", .organization(.membersWrite), audit: .kind(.inviteOrgMember), handler: invite)
        routes.console(.post, "/console/invites/:invite_id/delete", .organization(.membersWrite), audit: .kind(.revokeInvite), handler: revokeInvite)
        routes.console(.post, "/console/users/:user_id/role", .organization(.membersWrite), audit: .kind(.createRoleBinding), handler: changeRole)
        routes.console(.post, "/console/users/:user_id/delete", .selfOr(.membersWrite), audit: .kind(.removeOrgMember), handler: removeMember)

        routes.console(.get, "/console/service-accounts", .organization(.serviceAccountsRead), handler: serviceAccountsPage)
        routes.console(.post, "/console/service-accounts", .organization(.serviceAccountsWrite), audit: .kind(.createServiceAccount), handler: createServiceAccount)
        routes.console(
            .post, "/console/service-accounts/:service_account_id/rotate-secret", .organization(.serviceAccountsWrite),
            audit: .kind(.rotateServiceAccountSecret), handler: rotateSecret
        )
        routes.console(
            .post, "/console/service-accounts/:service_account_id/delete", .organization(.serviceAccountsWrite),
            audit: .kind(.deleteServiceAccount), handler: deleteServiceAccount
        )
        routes.console(
            .post, "/console/service-accounts/:service_account_id", .organization(.serviceAccountsWrite), audit: .kind(.updateServiceAccount),
            handler: renameServiceAccount
        )

        routes.console(.post, "/console/organization", .organization(.organizationWrite), audit: .kind(.renameOrganization), handler: renameOrganization)
        routes.console(.post, "/console/organization/delete", .organization(.organizationDelete), audit: .kind(.deleteOrganization), handler: deleteOrganization)
    }

    // MARK: The organization

    @Sendable func renameOrganization(_ call: ConsoleCall) async throws -> Response {
        _ = try await organizations.renameOrganization(call.pass.identity.organizationID, to: call.field("name"), call.context, call.pass)
        return ConsolePages.redirect(to: "/console")
    }

    /// Deletes the organization once the form names it, with everything in it: its members' sessions end with it,
    /// so the browser is sent to the sign-in page with the cookie cleared.
    @Sendable func deleteOrganization(_ call: ConsoleCall) async throws -> Response {
        let organization = try await admin.organization(call.pass.identity.organizationID, for: call.pass)
        guard call.field("confirm") == organization.name else {
            throw ConiferError.invalidArgument("Type the organization's name to confirm its deletion; nothing was deleted.")
        }
        try await organizations.deleteOrganization(organization.id, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/sign-in", headers: [.setCookie: ConsoleRequest.clearedCookie(secure: secure)])
    }

    static let organizationRoles = OrganizationRole.allCases.map(\.rawValue)

    /// The organization's role of each principal of `type`, by principal.
    private func organizationRoles(of type: RoleBindingInfo.PrincipalType, _ call: ConsoleCall) async throws -> [UUID: String] {
        let bindings = try await admin.roleBindings(RoleBindingFilter(principalType: type, resourceType: .organization), for: call.pass)
        return Dictionary(bindings.map { ($0.principalID, $0.role.rawValue) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: Members and invitations

    @Sendable func membersPage(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Members", current: "Members")
        let identity = call.pass.identity
        let roles = try await organizationRoles(of: .user, call)
        let users = try await admin.users(email: nil, for: call.pass).sorted { $0.email < $1.email }
        values["canWrite"] = identity.organizationPermissions.contains(.membersWrite)
        values["users"] = users.map { user -> [String: Any] in
            let role = roles[user.id] ?? ""
            return [
                "id": user.id.lowercasedString, "email": user.email, "name": user.name ?? "", "role": role,
                "isSelf": identity.kind == .user(user.id), "roles": ConsolePages.options(Self.organizationRoles, selected: [role]),
            ]
        }
        let invites = try await admin.invites(for: call.pass).filter { $0.status == .pending }
        values["hasInvites"] = !invites.isEmpty
        values["invites"] = invites.map { invite -> [String: Any] in
            [
                "id": invite.id.lowercasedString, "email": invite.email, "status": invite.status.rawValue, "expires": ConsolePages.date(invite.expiresAt),
                "role": invite.roleBindings.map(\.role).joined(separator: ", "),
            ]
        }
        values["inviteRoles"] = ConsolePages.options(Self.organizationRoles, selected: [OrganizationRole.member.rawValue])
        return ConsolePages.page("members", values)
    }

    /// Invites a member; without mail, the page shows the invitation link once (as the API answers its token).
    @Sendable func invite(_ call: ConsoleCall) async throws -> Response {
        let body = CreateInviteRequestWire(email: call.field("email"), role_bindings: [.organization(call.field("role"))])
        let created = try await members.createInvite(body, call.context, call.pass)
        guard !members.mailsInvites else { return ConsolePages.redirect(to: "/console/members") }
        var values = try await layout(call, title: "Invitation", current: "Members")
        let link = origin(of: call.request) + "/console/accept-invite?token=" + created.token
        values["heading"] = "Invitation for \(created.invite.email)"
        values["lost"] = "revoke the invitation and invite again"
        values["fields"] = [["label": "Invitation link (send it to the new member)", "id": "invite-link", "value": link]]
        values["back"] = "/console/members"
        return ConsolePages.page("secret", values)
    }

    @Sendable func revokeInvite(_ call: ConsoleCall) async throws -> Response {
        try await admin.deleteInvite(try call.uuid("invite_id", notFound: "Invite"), for: call.pass)
        return ConsolePages.redirect(to: "/console/members")
    }

    /// Sets a member's organization role (replacing the one it had), as `POST /admin/role-bindings` does.
    @Sendable func changeRole(_ call: ConsoleCall) async throws -> Response {
        let user = try call.uuid("user_id", notFound: "User")
        let body = CreateRoleBindingRequestWire(principal_type: "user", principal_id: user.lowercasedString, binding: .organization(call.field("role")))
        _ = try await members.createRoleBinding(body, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/members")
    }

    /// Removes a member; a member removing itself leaves, and its session ends with its membership.
    @Sendable func removeMember(_ call: ConsoleCall) async throws -> Response {
        let user = try call.uuid("user_id", notFound: "User")
        try await members.removeUser(user, call.context, call.pass)
        return ConsolePages.redirect(to: call.pass.identity.kind == .user(user) ? "/console/sign-in" : "/console/members")
    }

    // MARK: Service accounts

    @Sendable func serviceAccountsPage(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Service accounts", current: "ServiceAccounts")
        let roles = try await organizationRoles(of: .serviceAccount, call)
        let accounts = try await admin.serviceAccounts(for: call.pass).sorted { $0.name < $1.name }
        values["canWrite"] = call.pass.identity.organizationPermissions.contains(.serviceAccountsWrite)
        values["hasAccounts"] = !accounts.isEmpty
        values["accounts"] = accounts.map { account -> [String: Any] in
            [
                "id": account.id.lowercasedString, "name": account.name, "clientID": account.clientID, "role": roles[account.id] ?? "",
                "created": ConsolePages.date(account.createdAt),
            ]
        }
        values["roles"] = ConsolePages.options(Self.organizationRoles, selected: [OrganizationRole.member.rawValue])
        return ConsolePages.page("service-accounts", values)
    }

    @Sendable func createServiceAccount(_ call: ConsoleCall) async throws -> Response {
        guard let role = OrganizationRole(rawValue: call.field("role")) else {
            throw ConiferError.invalidArgument("Choose one of the organization roles: \(Self.organizationRoles.joined(separator: ", ")).")
        }
        let created = try await members.createServiceAccount(name: call.field("name"), role: role, call.context, call.pass)
        return try await secretPage(call, created, heading: "Service account \(created.account.name) created")
    }

    @Sendable func rotateSecret(_ call: ConsoleCall) async throws -> Response {
        let rotated = try await admin.rotateServiceAccountSecret(try call.uuid("service_account_id", notFound: "Service account"), for: call.pass)
        return try await secretPage(call, rotated, heading: "New secret of \(rotated.account.name)")
    }

    @Sendable func renameServiceAccount(_ call: ConsoleCall) async throws -> Response {
        _ = try await members.renameServiceAccount(
            try call.uuid("service_account_id", notFound: "Service account"), to: call.field("name"), call.context, call.pass
        )
        return ConsolePages.redirect(to: "/console/service-accounts")
    }

    @Sendable func deleteServiceAccount(_ call: ConsoleCall) async throws -> Response {
        try await admin.deleteServiceAccount(try call.uuid("service_account_id", notFound: "Service account"), for: call.pass)
        return ConsolePages.redirect(to: "/console/service-accounts")
    }

    /// The one page that shows a service account's client secret.
    private func secretPage(_ call: ConsoleCall, _ account: CreatedServiceAccount, heading: String) async throws -> Response {
        var values = try await layout(call, title: heading, current: "ServiceAccounts")
        values["heading"] = heading
        values["lost"] = "rotate the secret"
        values["fields"] = [
            ["label": "Client ID", "id": "client-id", "value": account.account.clientID],
            ["label": "Client secret", "id": "client-secret", "value": account.clientSecret],
        ]
        values["back"] = "/console/service-accounts"
        return ConsolePages.page("secret", values)
    }
}
