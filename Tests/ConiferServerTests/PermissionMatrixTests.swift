import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// SECURITY.md rule 1: every route is in the permission table, and every route answers every kind of
/// caller exactly as the table says — 401 without valid credentials, 403 (or 404 for resources the caller
/// cannot see) when denied, success when allowed — and a denied write changes nothing.
@Suite struct PermissionMatrixTests {
    /// How a caller presents itself, and what the table grants it.
    struct Caller {
        enum Model {
            case anonymous
            case key(ownProject: Bool, permissions: Set<Permission>)
            case identity(sameOrganization: Bool, organization: Set<OrganizationPermission>, inProject: Set<Permission>)
        }

        var name: String
        var headers: [(String, String)]
        var model: Model
    }

    enum Outcome: Equatable {
        case unauthenticated, denied, hidden, allowed
    }

    static func expected(_ entry: RouteEntry, _ caller: Caller) -> Outcome? {
        let resourcePath = entry.path.contains(":")
        switch (entry.access, caller.model) {
        case (.open, _):
            return nil
        case (_, .anonymous):
            return .unauthenticated
        case (.project(let permission), .key(let own, let permissions)):
            guard permissions.contains(permission) else { return .denied }
            return own || !resourcePath ? .allowed : .hidden
        case (.project(let permission), .identity(_, _, let inProject)):
            return inProject.contains(permission) ? .allowed : .denied
        case (_, .key):
            return .unauthenticated
        case (.authenticated, .identity):
            return .allowed
        case (.selfOr(let permission), .identity(let same, let organization, _)):
            // The matrix's callers are never the target user itself.
            guard same, organization.contains(.membersRead) else { return .hidden }
            return organization.contains(permission) ? .allowed : .denied
        case (.organization(let permission), .identity(let same, let organization, _)):
            guard organization.contains(permission) else { return .denied }
            return same || !resourcePath ? .allowed : .hidden
        case (.projectAdmin(let permission), .identity(let same, _, let inProject)),
             // The matrix's role binding names the main project.
             (.membership(let permission), .identity(let same, _, let inProject)):
            guard same, !inProject.isEmpty else { return .hidden }
            return inProject.contains(permission) ? .allowed : .denied
        }
    }

    @Test func everyRouteAnswersEveryCallerAsTheTableSays() async throws {
        try await TestServer.run { server, client in
            let (_, table) = server.buildRouter()
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.lowercasedString
            let organization = boot.organizationID.lowercasedString
            let catalog = server.catalog
            let owner = try await client.token()
            let ownerHeaders = [("Authorization", "Bearer \(owner)")]
            let key = TestServer.bootstrapKey

            // --- callers ---
            var callers: [Caller] = [
                Caller(name: "no credentials", headers: [], model: .anonymous),
                Caller(name: "malformed key", headers: [("Api-Key", "x")], model: .anonymous),
                Caller(name: "malformed bearer", headers: [("Authorization", "Bearer garbage"), ("X-Project-Id", project)], model: .anonymous),
            ]
            let revoked = try await catalog.createAPIKey(projectID: boot.projectID, name: "revoked", roles: [.projectEditor])
            _ = try await client.admin(.delete, "/admin/api-keys/\(revoked.id.lowercasedString)", token: owner)
            callers.append(Caller(name: "revoked key", headers: [("Api-Key", revoked.value)], model: .anonymous))
            let roleSets: [[APIKeyRole]] = APIKeyRole.allCases.map { [$0] } + [
                [.controlPlaneEditor, .dataPlaneEditor], [.controlPlaneEditor, .dataPlaneViewer],
                [.controlPlaneViewer, .dataPlaneEditor], [.controlPlaneViewer, .dataPlaneViewer],
            ]
            for roles in roleSets {
                let created = try await catalog.createAPIKey(projectID: boot.projectID, name: "matrix", roles: roles)
                let permissions = roles.reduce(into: Set<Permission>()) { $0.formUnion($1.permissions) }
                callers.append(Caller(name: roles.map(\.rawValue).joined(separator: "+"), headers: [("Api-Key", created.value)], model: .key(ownProject: true, permissions: permissions)))
            }
            let otherProject = try await catalog.createProject(name: "other", organizationID: boot.organizationID)
            let otherKey = try await catalog.createAPIKey(projectID: otherProject, name: "other", roles: [.projectEditor])
            callers.append(Caller(name: "key of another project", headers: [("Api-Key", otherKey.value)], model: .key(ownProject: false, permissions: APIKeyRole.projectEditor.permissions)))
            for role in OrganizationRole.allCases {
                if role == .owner {
                    callers.append(Caller(
                        name: "OrgOwner", headers: ownerHeaders + [("X-Project-Id", project)],
                        model: .identity(sameOrganization: true, organization: role.permissions, inProject: Set(Permission.allCases))
                    ))
                    continue
                }
                let token = try await client.serviceAccount(role.rawValue, role: role, owner: owner).token
                callers.append(Caller(
                    name: role.rawValue, headers: [("Authorization", "Bearer \(token)"), ("X-Project-Id", project)],
                    model: .identity(sameOrganization: true, organization: role.permissions, inProject: role.impliedProjectRole?.permissions ?? [])
                ))
            }
            // A user (invited, password login) with OrgMember and ProjectMember on the main project.
            let userInvite = try await client.admin(
                .post, "/admin/invites", token: owner,
                body: #"{"email":"caller@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"},{"resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}]}"#
            )
            let inviteToken = try #require(userInvite.json["token"] as? String)
            _ = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(inviteToken)","password":"caller-password-123"}"#)
            let userLogin = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"caller@example.com","password":"caller-password-123"}"#)
            let userToken = try #require(userLogin.json["access_token"] as? String)
            callers.append(Caller(
                name: "user with OrgMember + ProjectMember", headers: [("Authorization", "Bearer \(userToken)"), ("X-Project-Id", project)],
                model: .identity(sameOrganization: true, organization: OrganizationRole.member.permissions, inProject: ProjectRole.member.permissions)
            ))
            let foreign = try await catalog.createOrganization(name: "elsewhere", plan: "Enterprise")
            let foreignToken = try await client.token(clientID: foreign.owner.account.clientID, secret: foreign.owner.clientSecret)
            callers.append(Caller(
                name: "owner of another organization", headers: [("Authorization", "Bearer \(foreignToken)"), ("X-Project-Id", project)],
                model: .identity(sameOrganization: false, organization: Set(OrganizationPermission.allCases), inProject: [])
            ))

            // --- fixtures, restored before every call ---
            var targetKey = ""
            var targetAccount = ""
            var targetBinding = ""
            var targetUser = ""
            var targetInvite = ""
            var invited = 0
            func ensureFixtures() async throws {
                if try await client.call(.get, "/indexes/matrix-idx", key: key).status == 404 {
                    _ = try await client.createIndex("matrix-idx", dimension: 2, key: key)
                }
                let data = "/data/\(project)/matrix-idx"
                for namespace in ["", "ns"] {
                    _ = try await client.call(.post, "\(data)/vectors/upsert", key: key, body: #"{"vectors":[{"id":"m","values":[1,0]}],"namespace":"\#(namespace)"}"#)
                }
                let keyMissing = targetKey.isEmpty ? true : try await client.admin(.get, "/admin/api-keys/\(targetKey)", token: owner).status != 200
                if keyMissing {
                    let created = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"target","roles":["DataPlaneViewer"]}"#)
                    targetKey = try #require((created.json["key"] as? [String: Any])?["id"] as? String)
                }
                let accountMissing = targetAccount.isEmpty ? true : try await client.admin(.get, "/admin/service-accounts/\(targetAccount)", token: owner).status != 200
                if accountMissing {
                    let created = try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"target"}"#)
                    targetAccount = try #require((created.json["service_account"] as? [String: Any])?["id"] as? String)
                    targetBinding = ""
                }
                let userMissing = targetUser.isEmpty ? true : try await client.admin(.get, "/admin/users/\(targetUser)", token: owner).status != 200
                if userMissing {
                    invited += 1
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"matrix\#(invited)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                    )
                    let token = try #require(invite.json["token"] as? String)
                    let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"matrix-password-123"}"#)
                    targetUser = try #require(accepted.json["id"] as? String)
                }
                let inviteMissing = targetInvite.isEmpty ? true : try await client.admin(.get, "/admin/invites/\(targetInvite)", token: owner).status != 200
                if inviteMissing {
                    invited += 1
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"pending\#(invited)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                    )
                    targetInvite = try #require(invite.json["id"] as? String)
                }
                let bindingMissing = targetBinding.isEmpty ? true : try await client.admin(.get, "/admin/role-bindings/\(targetBinding)", token: owner).status != 200
                if bindingMissing {
                    let created = try await client.admin(
                        .post, "/admin/role-bindings", token: owner,
                        body: #"{"principal_type":"service_account","principal_id":"\#(targetAccount)","resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}"#
                    )
                    targetBinding = try #require(created.json["id"] as? String)
                }
            }
            func fingerprint() async throws -> [String] {
                [
                    try await client.call(.get, "/indexes", key: key).text,
                    try await client.call(.post, "/data/\(project)/matrix-idx/describe_index_stats", key: key, body: "{}").text,
                    try await client.call(.get, "/data/\(project)/matrix-idx/vectors/fetch?ids=m&namespace=ns", key: key).text,
                    try await client.call(.get, "/indexes", key: otherKey.value).text,
                    try await client.admin(.get, "/admin/projects", token: owner).text,
                    try await client.admin(.get, "/admin/projects/\(project)/api-keys", token: owner).text,
                    try await client.admin(.get, "/admin/service-accounts", token: owner).text,
                    try await client.admin(.get, "/admin/organizations", token: owner).text,
                    try await client.admin(.get, "/admin/role-bindings", token: owner).text,
                    try await client.admin(.get, "/admin/users", token: owner).text,
                    try await client.admin(.get, "/admin/invites", token: owner).text.replacingOccurrences(of: #""status":"expired""#, with: #""status":"pending""#),
                ]
            }

            var counter = 0
            func body(for entry: RouteEntry) -> String? {
                counter += 1
                switch (entry.method, entry.path.split(separator: "/").last.map(String.init) ?? "") {
                case (.post, "indexes"): return #"{"name":"matrix-new-\#(counter)","dimension":2,"metric":"cosine","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}}"#
                case (.patch, ":index_name"): return #"{"tags":{"k":"v\#(counter)"}}"#
                case (.post, "upsert") where entry.path.contains("/vectors/"): return #"{"vectors":[{"id":"new-\#(counter)","values":[0,1]}]}"#
                case (.post, "query"): return #"{"topK":1,"vector":[1,0]}"#
                case (.post, "fetch_by_metadata"): return #"{"filter":{"a":1}}"#
                case (.post, "update"): return #"{"id":"m","setMetadata":{"a":\#(counter)}}"#
                case (.post, "delete"): return #"{"ids":["m"]}"#
                case (.post, "describe_index_stats"): return "{}"
                case (.post, "namespaces"): return #"{"name":"created-\#(counter)"}"#
                case (.post, "projects"): return #"{"name":"matrix-\#(counter)"}"#
                case (.patch, ":project_id"): return #"{"max_pods":\#(counter)}"#
                case (.post, "api-keys"): return #"{"name":"made-\#(counter)","roles":["DataPlaneViewer"]}"#
                case (.patch, ":api_key_id"): return #"{"name":"renamed-\#(counter)"}"#
                case (.post, "service-accounts"): return #"{"name":"made-\#(counter)","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                case (.patch, ":service_account_id"), (.patch, ":organization_id"): return #"{"name":"renamed-\#(counter)"}"#
                case (.post, "invites"):
                    return #"{"email":"made\#(counter)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                case (.post, "role-bindings"):
                    return #"{"principal_type":"service_account","principal_id":"\#(targetAccount)","resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}"#
                case (.get, _), (.delete, _): return nil
                default: return "{}"
                }
            }

            var cells = 0
            var tally: [Outcome: Int] = [:]
            for entry in table.entries where entry.access != .open {
                for caller in callers {
                    guard let outcome = Self.expected(entry, caller) else { continue }
                    try await ensureFixtures()
                    var path = entry.path
                        .replacingOccurrences(of: ":project_id", with: project)
                        .replacingOccurrences(of: ":index_name", with: "matrix-idx")
                        .replacingOccurrences(of: ":namespace", with: "ns")
                        .replacingOccurrences(of: ":import_id", with: "1")
                        .replacingOccurrences(of: ":api_key_id", with: targetKey)
                        .replacingOccurrences(of: ":service_account_id", with: targetAccount)
                        .replacingOccurrences(of: ":organization_id", with: organization)
                        .replacingOccurrences(of: ":role_binding_id", with: targetBinding)
                        .replacingOccurrences(of: ":user_id", with: targetUser)
                        .replacingOccurrences(of: ":invite_id", with: targetInvite)
                    if entry.path.hasSuffix("vectors/fetch") { path += "?ids=m" }
                    let isWrite = entry.method != .get
                    let before = outcome != .allowed && isWrite ? try await fingerprint() : []
                    let reply = try await client.call(entry.method, path, key: nil, headers: caller.headers, body: body(for: entry))
                    let label = "\(entry.method.rawValue) \(entry.path) as \(caller.name): \(reply.status) \(reply.text.prefix(160))"
                    switch outcome {
                    case .unauthenticated: #expect(reply.status == 401, "\(label)")
                    case .denied: #expect(reply.status == 403, "\(label)")
                    case .hidden: #expect(reply.status == 404, "\(label)")
                    case .allowed: #expect((200..<300).contains(reply.status) || reply.status == 412 || reply.status == 501, "\(label)")
                    }
                    if !before.isEmpty {
                        let after = try await fingerprint()
                        #expect(after == before, "denied write changed state: \(label)")
                    }
                    cells += 1
                    tally[outcome, default: 0] += 1
                }
            }
            print("permission matrix: \(table.entries.count) routes x \(callers.count) callers = \(cells) cells; \(tally)")
            #expect(cells > 700)
        }
    }

    @Test func everyRegisteredRouteIsInTheTableAndNothingElseAnswers() async throws {
        try await TestServer.run { server, client in
            let (_, table) = server.buildRouter()
            let keys = table.entries.map { "\($0.method.rawValue) \($0.path)" }
            #expect(Set(keys).count == keys.count, "a route is registered twice")
            // Every table entry is live: without credentials a protected route answers 401, never 404/405.
            for entry in table.entries where entry.access != .open {
                let path = entry.path.replacingOccurrences(of: ":", with: "x")
                let reply = try await client.call(entry.method, path, key: nil, body: entry.method == .get ? nil : "{}")
                #expect(reply.status == 401, "\(entry.method.rawValue) \(entry.path): \(reply.status)")
            }
            // Methods a path does not declare are 405, so no handler hides behind a declared path.
            for path in Set(table.entries.map(\.path)) {
                let declared = Set(table.entries.filter { $0.path == path }.map(\.method))
                for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where !declared.contains(method) {
                    let reply = try await client.call(method, path.replacingOccurrences(of: ":", with: "x"), key: nil)
                    #expect(reply.status == 405, "\(method.rawValue) \(path): \(reply.status)")
                }
            }
        }
    }
}
