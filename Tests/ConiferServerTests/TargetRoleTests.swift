import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// SECURITY.md rule 9, the target-role dimension of the permission matrix: every Admin API route that acts
/// on a principal or a binding is called by callers of several ranks on targets of several ranks, and
/// answers as `PermissionOracle.targetTable` / `memberTable` say (written by hand, not from the server).
@Suite struct TargetRoleTests {
    /// A principal's ranks: in the organization, and in the test's one project (explicit or implied).
    struct Ranks {
        var organization: OrganizationRole
        var project: ProjectRole?

        var name: String { organization.rawValue + (project.map { "+" + $0.rawValue } ?? "") }
    }

    /// In the order of the oracle's rows and cells.
    static let callers: [Ranks] = [
        Ranks(organization: .owner), Ranks(organization: .manager),
        Ranks(organization: .member, project: .owner), Ranks(organization: .member, project: .manager),
    ]
    static let targets: [Ranks] = [
        Ranks(organization: .owner), Ranks(organization: .manager), Ranks(organization: .member),
        Ranks(organization: .member, project: .owner), Ranks(organization: .member, project: .member),
    ]

    @Test func actingOnAPrincipalThatOutranksTheCallerIsForbidden() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let owner = try await client.token()
            var counter = 0

            /// A service account with `ranks`, created by the owner; returns its id, token and binding ids.
            func account(_ ranks: Ranks) async throws -> (id: String, token: String, orgBinding: String, projectBinding: String?) {
                counter += 1
                let (id, token) = try await client.serviceAccount("t\(counter)", role: ranks.organization, owner: owner)
                let bindings = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(id)", token: owner)
                let orgBinding = try #require((bindings.json["data"] as? [[String: Any]])?.first?["id"] as? String)
                var projectBinding: String?
                if let role = ranks.project {
                    let bound = try await client.admin(.post, "/admin/role-bindings", token: owner, body: Self.binding(id, "project", project, role.rawValue))
                    projectBinding = try #require(bound.json["id"] as? String, "\(bound.text)")
                }
                return (id, token, orgBinding, projectBinding)
            }

            var callerTokens: [(Ranks, String)] = []
            for ranks in Self.callers {
                callerTokens.append((ranks, ranks.organization == .owner && ranks.project == nil ? owner : try await account(ranks).token))
            }

            var cells = 0
            var denied = 0
            func check(_ action: String, _ target: String, allowed: Bool?, _ reply: Reply) {
                let label = "\(action): \(target)"
                guard let allowed else { Issue.record("the oracle has no cell for \(label)"); return }
                cells += 1
                if allowed {
                    #expect((200..<300).contains(reply.status), "\(label) should be allowed: \(reply.status) \(reply.text.prefix(200))")
                } else {
                    denied += 1
                    #expect(reply.status == 403, "\(label) should be 403: \(reply.status) \(reply.text.prefix(200))")
                }
            }

            for (c, (caller, token)) in callerTokens.enumerated() {
                for (t, target) in Self.targets.enumerated() {
                    let label = "\(caller.name) on \(target.name)"
                    func allowed(_ action: String) -> Bool? { PermissionOracle.targetAllowed(action, caller: c, target: t) }

                    var subject = try await account(target)
                    check("rename account", label, allowed: allowed("rename account"),
                          try await client.admin(.patch, "/admin/service-accounts/\(subject.id)", token: token, body: #"{"name":"renamed"}"#))
                    let rotated = try await client.admin(.post, "/admin/service-accounts/\(subject.id)/rotate-secret", token: token)
                    check("rotate secret", label, allowed: allowed("rotate secret"), rotated)
                    #expect((rotated.json["client_secret"] != nil) == (rotated.status == 200), "a denied rotation handed out a secret: \(label)")
                    // Demote in the organization (OrgMember is grantable by every caller with org-members:write).
                    check("rebind organization role", label, allowed: allowed("rebind organization role"),
                          try await client.admin(.post, "/admin/role-bindings", token: token, body: Self.binding(subject.id, "organization", nil, "OrgMember")))
                    subject = try await account(target)
                    check("delete organization binding", label, allowed: allowed("delete organization binding"),
                          try await client.admin(.delete, "/admin/role-bindings/\(subject.orgBinding)", token: token))
                    subject = try await account(target)
                    check("rebind project role", label, allowed: allowed("rebind project role"),
                          try await client.admin(.post, "/admin/role-bindings", token: token, body: Self.binding(subject.id, "project", project, "ProjectMember")))
                    subject = try await account(target)
                    let deleteBinding = allowed("delete project binding")
                    #expect((deleteBinding != nil) == (subject.projectBinding != nil), "oracle and fixture disagree on \(label)")
                    if let binding = subject.projectBinding {
                        check("delete project binding", label, allowed: deleteBinding,
                              try await client.admin(.delete, "/admin/role-bindings/\(binding)", token: token))
                    }
                    subject = try await account(target)
                    check("delete account", label, allowed: allowed("delete account"),
                          try await client.admin(.delete, "/admin/service-accounts/\(subject.id)", token: token))
                }

                // Users and invites by organization role; an invite's token is a credential of the user it will make.
                for (t, role) in [OrganizationRole.owner, .manager, .member].enumerated() {
                    let label = "\(caller.name) on \(role.rawValue)"
                    counter += 1
                    let user = try await Self.user("u\(counter)@example.com", role: role, owner: owner, client: client)
                    check("remove user", label, allowed: PermissionOracle.targetAllowed("remove user", caller: c, target: t),
                          try await client.admin(.delete, "/admin/users/\(user)", token: token))

                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"i\#(counter)@example.com","role_bindings":[{"resource_type":"organization","role":"\#(role.rawValue)"}]}"#
                    )
                    let id = try #require(invite.json["id"] as? String)
                    let resent = try await client.admin(.post, "/admin/invites/\(id)/resend", token: token)
                    let resendAllowed = PermissionOracle.targetAllowed("resend invite", caller: c, target: t)
                    check("resend invite", label, allowed: resendAllowed, resent)
                    #expect((resent.json["token"] != nil) == (resendAllowed == true), "a denied resend handed out a token: \(label)")
                    check("delete invite", label, allowed: PermissionOracle.targetAllowed("delete invite", caller: c, target: t),
                          try await client.admin(.delete, "/admin/invites/\(id)", token: token))
                }
            }
            print("target-role matrix: \(cells) cells, \(denied) denied")
            #expect(cells == PermissionOracle.targetCells.all)
            #expect(denied == PermissionOracle.targetCells.denied)
        }
    }

    static func binding(_ account: String, _ type: String, _ resource: String?, _ role: String) -> String {
        let resourceField = resource.map { #","resource_id":"\#($0)""# } ?? ""
        return #"{"principal_type":"service_account","principal_id":"\#(account)","resource_type":"\#(type)"\#(resourceField),"role":"\#(role)"}"#
    }

    /// A user with an organization role (invited by the owner and accepted); returns its id.
    static func user(_ email: String, role: OrganizationRole, owner: String, client: some TestClientProtocol) async throws -> String {
        let invite = try await client.admin(
            .post, "/admin/invites", token: owner,
            body: #"{"email":"\#(email)","role_bindings":[{"resource_type":"organization","role":"\#(role.rawValue)"}]}"#
        )
        let token = try #require(invite.json["token"] as? String, "\(invite.text)")
        let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"user-password-1234"}"#)
        return try #require(accepted.json["id"] as? String, "\(accepted.text)")
    }
}
