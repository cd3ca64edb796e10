import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// SECURITY.md rule 9, the target-role dimension of the permission matrix: every Admin API route that acts
/// on a principal or a binding is called by callers of several ranks on targets of several ranks. The
/// expectation is an oracle written here from Pinecone's role order (OrgOwner > OrgManager > OrgMember;
/// ProjectOwner > ProjectManager > ProjectMember, with OrgOwner/OrgManager implying the project roles of
/// the same rank), not from the server's code: acting on a target that outranks the caller is 403.
@Suite struct TargetRoleTests {
    /// A principal's ranks: in the organization, and in the test's one project (explicit or implied).
    struct Ranks {
        var organization: OrganizationRole
        var project: ProjectRole?

        var orgRank: Int { Self.rank(organization) }
        var projectRank: Int {
            let implied = switch organization {
            case .owner: 3
            case .manager: 2
            default: 0
            }
            return max(implied, project.map(Self.rank) ?? 0)
        }

        static func rank(_ role: OrganizationRole) -> Int {
            switch role {
            case .owner: 3
            case .manager: 2
            case .member, .billingAdmin: 1
            }
        }

        static func rank(_ role: ProjectRole) -> Int {
            switch role {
            case .owner: 3
            case .manager: 2
            case .member: 1
            }
        }

        var name: String { organization.rawValue + (project.map { "+" + $0.rawValue } ?? "") }

        /// Organization-wide: no rank of the target above the caller's.
        func outranksNothingOf(_ target: Ranks) -> Bool { orgRank >= target.orgRank && projectRank >= target.projectRank }
    }

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
            func check(_ label: String, allowed: Bool, _ reply: Reply) {
                cells += 1
                if allowed {
                    #expect((200..<300).contains(reply.status), "\(label) should be allowed: \(reply.status) \(reply.text.prefix(200))")
                } else {
                    denied += 1
                    #expect(reply.status == 403, "\(label) should be 403: \(reply.status) \(reply.text.prefix(200))")
                }
            }

            for (caller, token) in callerTokens {
                let manageAccounts = caller.organization == .owner || caller.organization == .manager
                for target in Self.targets {
                    let label = "\(caller.name) on \(target.name)"
                    let wholeCover = caller.outranksNothingOf(target)

                    var t = try await account(target)
                    check("rename: \(label)", allowed: manageAccounts && wholeCover,
                          try await client.admin(.patch, "/admin/service-accounts/\(t.id)", token: token, body: #"{"name":"renamed"}"#))
                    let rotated = try await client.admin(.post, "/admin/service-accounts/\(t.id)/rotate-secret", token: token)
                    check("rotate-secret: \(label)", allowed: manageAccounts && wholeCover, rotated)
                    #expect((rotated.json["client_secret"] != nil) == (rotated.status == 200), "a denied rotation handed out a secret: \(label)")
                    // Demote in the organization (OrgMember is grantable by every caller with org-members:write).
                    check("rebind org role: \(label)", allowed: manageAccounts && wholeCover,
                          try await client.admin(.post, "/admin/role-bindings", token: token, body: Self.binding(t.id, "organization", nil, "OrgMember")))
                    t = try await account(target)
                    check("delete org binding: \(label)", allowed: manageAccounts && wholeCover,
                          try await client.admin(.delete, "/admin/role-bindings/\(t.orgBinding)", token: token))
                    t = try await account(target)
                    // Project scope: only the ranks inside the project count.
                    let projectCover = caller.projectRank >= target.projectRank
                    check("rebind project role: \(label)", allowed: caller.projectRank >= 2 && projectCover,
                          try await client.admin(.post, "/admin/role-bindings", token: token, body: Self.binding(t.id, "project", project, "ProjectMember")))
                    t = try await account(target)
                    if let binding = t.projectBinding {
                        check("delete project binding: \(label)", allowed: caller.projectRank >= 2 && projectCover,
                              try await client.admin(.delete, "/admin/role-bindings/\(binding)", token: token))
                    }
                    t = try await account(target)
                    check("delete account: \(label)", allowed: manageAccounts && wholeCover,
                          try await client.admin(.delete, "/admin/service-accounts/\(t.id)", token: token))
                }

                // Users: removing a member who outranks the caller.
                for role in [OrganizationRole.owner, .manager, .member] {
                    counter += 1
                    let user = try await Self.user("u\(counter)@example.com", role: role, owner: owner, client: client)
                    let allowed = manageAccounts && caller.outranksNothingOf(Ranks(organization: role))
                    check("remove user: \(caller.name) on \(role.rawValue) user", allowed: allowed,
                          try await client.admin(.delete, "/admin/users/\(user)", token: token))
                }

                // Invites: their token is a credential of the user they will make.
                for role in [OrganizationRole.owner, .manager, .member] {
                    counter += 1
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"i\#(counter)@example.com","role_bindings":[{"resource_type":"organization","role":"\#(role.rawValue)"}]}"#
                    )
                    let id = try #require(invite.json["id"] as? String)
                    let allowed = manageAccounts && caller.orgRank >= Ranks.rank(role)
                    let resent = try await client.admin(.post, "/admin/invites/\(id)/resend", token: token)
                    check("resend invite: \(caller.name) on \(role.rawValue) invite", allowed: allowed, resent)
                    #expect((resent.json["token"] != nil) == allowed, "a denied resend handed out a token")
                    check("delete invite: \(caller.name) on \(role.rawValue) invite", allowed: allowed,
                          try await client.admin(.delete, "/admin/invites/\(id)", token: token))
                }
            }
            print("target-role matrix: \(cells) cells, \(denied) denied")
            #expect(cells > 150)
            #expect(denied > 40)
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
