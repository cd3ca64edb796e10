@testable import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// SECURITY.md rule 1: every route answers every kind of caller as `PermissionOracle` (a table written by
/// hand from Pinecone's roles) says — 401 without valid credentials, 403 when denied, 404 for resources the
/// caller cannot see, 2xx when allowed (501 only on the routes listed as unimplemented) — and a denied
/// write changes nothing it could have touched.
///
/// The oracle is checked three ways: against the live server; against what the server's route table and
/// the roles' permission sets imply (`modelled`); and by flipping, one at a time, every entry of a copy of
/// the route table and every permission of every role: each flip that changes what any principal may do
/// must contradict the oracle in some cell, so no such single wrong entry or role could pass the live
/// check. (Flips that change nothing for anyone — two permissions every role holds together — are counted
/// and not required to show.) A one-off run with `vectors/delete` declared `.dataRead`, and one with
/// `projectDelete` added to ProjectManager, failed all three as expected (issue 8's note).
@Suite struct PermissionMatrixTests {
    typealias Outcome = PermissionOracle.Outcome
    typealias Column = PermissionOracle.Column

    /// A caller as the route table and the roles see it: API-key roles, or organization and project roles.
    enum CallerModel {
        case key([APIKeyRole], ownProject: Bool)
        case identity(OrganizationRole, ProjectRole?, sameOrganization: Bool)
    }

    static func model(_ column: Column) -> CallerModel {
        switch column {
        case .projectEditor: .key([.projectEditor], ownProject: true)
        case .projectViewer: .key([.projectViewer], ownProject: true)
        case .controlPlaneEditor: .key([.controlPlaneEditor], ownProject: true)
        case .controlPlaneViewer: .key([.controlPlaneViewer], ownProject: true)
        case .dataPlaneEditor: .key([.dataPlaneEditor], ownProject: true)
        case .dataPlaneViewer: .key([.dataPlaneViewer], ownProject: true)
        case .controlEditorDataEditor: .key([.controlPlaneEditor, .dataPlaneEditor], ownProject: true)
        case .controlEditorDataViewer: .key([.controlPlaneEditor, .dataPlaneViewer], ownProject: true)
        case .controlViewerDataEditor: .key([.controlPlaneViewer, .dataPlaneEditor], ownProject: true)
        case .controlViewerDataViewer: .key([.controlPlaneViewer, .dataPlaneViewer], ownProject: true)
        case .keyOfAnotherProject: .key([.projectEditor], ownProject: false)
        case .orgOwner: .identity(.owner, nil, sameOrganization: true)
        case .orgManager: .identity(.manager, nil, sameOrganization: true)
        case .orgMember: .identity(.member, nil, sameOrganization: true)
        case .orgBillingAdmin: .identity(.billingAdmin, nil, sameOrganization: true)
        case .orgMemberProjectOwner: .identity(.member, .owner, sameOrganization: true)
        case .orgMemberProjectManager: .identity(.member, .manager, sameOrganization: true)
        case .userProjectMember: .identity(.member, .member, sameOrganization: true)
        case .ownerOfAnotherOrganization: .identity(.owner, nil, sameOrganization: false)
        }
    }

    /// Every role's permission set; production's by default, mutated one permission at a time below.
    struct RoleSets {
        var key = Dictionary(uniqueKeysWithValues: APIKeyRole.allCases.map { ($0, $0.permissions) })
        var organization = Dictionary(uniqueKeysWithValues: OrganizationRole.allCases.map { ($0, $0.permissions) })
        var project = Dictionary(uniqueKeysWithValues: ProjectRole.allCases.map { ($0, $0.permissions) })
    }
    static let production = RoleSets()

    /// What the server's table entry and the roles imply for a caller, following `RouteEntry.Access`'s
    /// documented meaning (nil for a public route). The matrix's resources all live in the main project
    /// and organization; callers are never the user a path names.
    static func modelled(
        _ access: RouteEntry.Access, path: String, credential: RouteEntry.Credential = .header, _ caller: CallerModel, _ roles: RoleSets
    ) -> Outcome? {
        // The console takes its session cookie only: every header credential is no credential there.
        if credential == .consoleSession { return access == .open ? nil : .unauthenticated }
        let resourcePath = path.contains(":")
        switch caller {
        case .key(let keyRoles, let own):
            switch access {
            case .open: return nil
            case .project(let permission):
                guard keyRoles.contains(where: { roles.key[$0]!.contains(permission) }) else { return .denied }
                // Another project's resources are hidden (so is the source index a new collection names in its
                // body); its Prometheus endpoints refuse the key (403).
                let namesResource = resourcePath || (path == "/collections" && !permission.isRead)
                return own || !namesResource ? .allowed : path.hasPrefix("/prometheus/") ? .denied : .hidden
            default: return .unauthenticated
            }
        case .identity(let organizationRole, let projectRole, let same):
            let organization = roles.organization[organizationRole]!
            var inProject: Set<Permission> = []
            if same {
                inProject = projectRole.map { roles.project[$0]! } ?? []
                if let implied = organizationRole.impliedProjectRole { inProject.formUnion(roles.project[implied]!) }
            }
            switch access {
            case .open: return nil
            case .project(let permission): return inProject.contains(permission) ? .allowed : .denied
            case .authenticated: return .allowed
            case .selfOr(let permission):
                guard same, organization.contains(.membersRead) else { return .hidden }
                return organization.contains(permission) ? .allowed : .denied
            case .organization(let permission):
                guard organization.contains(permission) else { return .denied }
                return same || !resourcePath ? .allowed : .hidden
            case .projectAdmin(let permission), .membership(let permission):
                guard same, !inProject.isEmpty else { return .hidden }
                return inProject.contains(permission) ? .allowed : .denied
            }
        }
    }

    /// The cells of one route where the model contradicts the oracle.
    static func contradictions(_ entry: RouteEntry, _ roles: RoleSets) -> [String] {
        let route = "\(entry.method.rawValue) \(entry.path)"
        return Column.allCases.compactMap { column in
            let modelled = modelled(entry.access, path: entry.path, credential: entry.credential, model(column), roles)
            let expected = PermissionOracle.expected(route, column)
            return modelled == expected ? nil : "\(route) as \(column): oracle \(expected.map { "\($0)" } ?? "public"), table \(modelled.map { "\($0)" } ?? "public")"
        }
    }

    @Test func theOracleListsEveryRouteAndOnlyThePublicOnesAreOpen() async throws {
        try await TestServer.run { server, _ in
            let entries = server.buildRouter().1.entries
            let routes = entries.map { "\($0.method.rawValue) \($0.path)" }
            #expect(Set(routes).count == routes.count, "a route is registered twice")
            #expect(Set(routes) == Set(PermissionOracle.table.keys).union(PermissionOracle.publicRoutes))
            #expect(Set(entries.filter { $0.access == .open }.map { "\($0.method.rawValue) \($0.path)" }) == PermissionOracle.publicRoutes)
            #expect(PermissionOracle.publicRoutes.isDisjoint(with: PermissionOracle.table.keys))
        }
    }

    /// Every principal that can exist, as the model sees it: keys of one or two roles (own project or
    /// another), and every organization role with no or any explicit project role (own organization or another).
    static let everyPrincipal: [CallerModel] = {
        let roleSets = APIKeyRole.allCases.map { [$0] } + APIKeyRole.allCases.flatMap { a in APIKeyRole.allCases.filter { $0.rawValue > a.rawValue }.map { [a, $0] } }
        let keys = roleSets.flatMap { [CallerModel.key($0, ownProject: true), .key($0, ownProject: false)] }
        let identities = OrganizationRole.allCases.flatMap { organization in
            ([nil] + ProjectRole.allCases.map(Optional.some)).flatMap { project in
                [CallerModel.identity(organization, project, sameOrganization: true), .identity(organization, project, sameOrganization: false)]
            }
        }
        return keys + identities
    }()

    /// Whether any principal at all gets another answer from `entry` under `roles` than under production.
    static func observable(_ entry: RouteEntry, original: RouteEntry.Access, _ roles: RoleSets) -> Bool {
        everyPrincipal.contains {
            modelled(entry.access, path: entry.path, credential: entry.credential, $0, roles)
                != modelled(original, path: entry.path, credential: entry.credential, $0, production)
        }
    }

    /// The server's table and the production roles agree with the oracle; and every single flip of a
    /// table entry or of one permission of one role that changes what any principal may do contradicts
    /// the oracle in some cell — so the matrix's callers are enough to catch it on the live server.
    @Test func everyObservableFlipOfTheTableOrOfARoleContradictsTheOracle() async throws {
        try await TestServer.run { server, _ in
            let production = Self.production
            let entries = server.buildRouter().1.entries
            let disagreements = entries.flatMap { Self.contradictions($0, production) }
            #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")

            var flips = 0
            var observed = 0
            var missed: [String] = []
            func tally(_ label: String, observable: Bool, caught: Bool) {
                flips += 1
                if observable { observed += 1 }
                if observable && !caught { missed.append(label) }
            }
            // Every access a table entry could be flipped to.
            let accesses: [RouteEntry.Access] = [.open, .authenticated]
                + Permission.allCases.flatMap { [.project($0), .projectAdmin($0), .membership($0)] }
                + OrganizationPermission.allCases.flatMap { [.organization($0), .selfOr($0)] }
            for entry in entries {
                for access in accesses where access != entry.access {
                    var flipped = entry
                    flipped.access = access
                    tally("\(entry.method.rawValue) \(entry.path): \(entry.access) → \(access)",
                          observable: access == .open || Self.observable(flipped, original: entry.access, production),
                          caught: !Self.contradictions(flipped, production).isEmpty)
                }
            }
            func flipRole(_ label: String, _ mutate: (inout RoleSets) -> Void) {
                var roles = production
                mutate(&roles)
                tally(label, observable: entries.contains { Self.observable($0, original: $0.access, roles) },
                      caught: entries.contains { !Self.contradictions($0, roles).isEmpty })
            }
            for role in APIKeyRole.allCases {
                for permission in Permission.allCases {
                    flipRole("\(role.rawValue) ± \(permission.rawValue)") { $0.key[role]!.formSymmetricDifference([permission]) }
                }
            }
            for role in OrganizationRole.allCases {
                for permission in OrganizationPermission.allCases {
                    flipRole("\(role.rawValue) ± \(permission.rawValue)") { $0.organization[role]!.formSymmetricDifference([permission]) }
                }
            }
            for role in ProjectRole.allCases {
                for permission in Permission.allCases {
                    flipRole("\(role.rawValue) ± \(permission.rawValue)") { $0.project[role]!.formSymmetricDifference([permission]) }
                }
            }
            print("permission oracle: \(PermissionOracle.table.count) routes x \(Column.allCases.count) callers; \(flips) single flips, \(observed) change an answer for some principal, \(missed.count) of those not caught")
            #expect(missed.isEmpty, "flips that change an answer but not the matrix's:\n\(missed.joined(separator: "\n"))")
            // Guard against a model that notices nothing: most flips must matter.
            #expect(observed > flips / 2)
        }
    }

    /// The routes in two shards, each on a server of its own, so the matrix (the suite's longest test) uses both cores.
    static let shards = 2

    /// A route's family: its path up to the first parameter, at most two segments (`admin/audit-log`, `data`). A
    /// family's cells build on each other (an audit-log PATCH after its PUT), so it stays in one shard; families go to
    /// the shard with fewer routes so far, largest first.
    static func shard(of entries: [RouteEntry]) -> [String: Int] {
        func family(_ path: String) -> String { path.split(separator: "/").prefix { !$0.hasPrefix(":") }.prefix(2).joined(separator: "/") }
        let sizes = Dictionary(grouping: entries, by: { family($0.path) }).mapValues(\.count)
        var load = Array(repeating: 0, count: shards)
        var assigned: [String: Int] = [:]
        for (name, size) in sizes.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            let lightest = load.indices.min { load[$0] < load[$1] }!
            assigned[name] = lightest
            load[lightest] += size
        }
        return Dictionary(uniqueKeysWithValues: entries.map { ("\($0.method.rawValue) \($0.path)", assigned[family($0.path)]!) })
    }

    @Test(arguments: TestCatalog.forMatrix, 0..<shards)
    func everyRouteAnswersEveryCallerAsTheOracleSays(_ catalog: TestCatalog, shard: Int) async throws {
        try await TestServer.run(catalog: catalog) { server, client in
            let (_, table) = server.buildRouter()
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.lowercasedString
            let organization = boot.organizationID.lowercasedString
            let catalog = server.catalogStore
            let owner = try await client.token()
            let key = TestServer.bootstrapKey
            let withProject = ("X-Project-Id", project)
            func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)"), withProject] }

            // --- callers: four that never authenticate, then one per oracle column ---
            let revoked = try await catalog.createAPIKey(projectID: boot.projectID, name: "revoked", roles: [.projectEditor])
            _ = try await client.admin(.delete, "/admin/api-keys/\(revoked.id.lowercasedString)", token: owner)
            let anonymous: [(String, [(String, String)])] = [
                ("no credentials", []), ("malformed key", [("Api-Key", "x")]),
                ("malformed bearer", [("Authorization", "Bearer garbage"), withProject]), ("revoked key", [("Api-Key", revoked.value)]),
            ]
            let otherProject = try await catalog.createProject(name: "other", organizationID: boot.organizationID)
            let otherKey = try await catalog.createAPIKey(projectID: otherProject, name: "other", roles: [.projectEditor])
            /// Explicit project roles that the doomed projects (deleted by the project-delete cells) repeat.
            var projectMembers: [(type: String, id: String, role: ProjectRole)] = []
            func projectAccount(_ name: String, _ role: ProjectRole) async throws -> String {
                let (id, token) = try await client.serviceAccount(name, role: .member, owner: owner)
                _ = try await client.admin(.post, "/admin/role-bindings", token: owner, body: TargetRoleTests.binding(id, "project", project, role.rawValue))
                projectMembers.append(("service_account", id, role))
                return token
            }
            var headers: [Column: [(String, String)]] = [:]
            for column in Column.allCases {
                switch Self.model(column) {
                case .key(let roles, ownProject: true):
                    headers[column] = [("Api-Key", try await catalog.createAPIKey(projectID: boot.projectID, name: "matrix", roles: roles).value)]
                case .key(_, ownProject: false):
                    headers[column] = [("Api-Key", otherKey.value)]
                case .identity(.owner, nil, sameOrganization: true):
                    headers[column] = bearer(owner)
                case .identity(let role, nil, sameOrganization: true):
                    headers[column] = bearer(try await client.serviceAccount(role.rawValue, role: role, owner: owner).token)
                case .identity(.member, .member, sameOrganization: true):
                    // A user (invited, password login) rather than a service account.
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"caller@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"},{"resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}]}"#
                    )
                    let inviteToken = try #require(invite.json["token"] as? String)
                    let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(inviteToken)","password":"caller-password-123"}"#)
                    projectMembers.append(("user", try #require(accepted.json["id"] as? String), .member))
                    let login = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"caller@example.com","password":"caller-password-123"}"#)
                    headers[column] = bearer(try #require(login.json["access_token"] as? String))
                case .identity(let role, let projectRole?, sameOrganization: true):
                    headers[column] = bearer(try await projectAccount("\(role.rawValue)+\(projectRole.rawValue)", projectRole))
                case .identity(_, _, sameOrganization: false):
                    let foreign = try await catalog.createOrganization(name: "elsewhere", plan: .enterprise)
                    headers[column] = bearer(try await client.token(clientID: foreign.owner.account.clientID, secret: foreign.owner.clientSecret))
                }
            }

            // --- fixtures, restored before every call ---
            var target = [String: String]() // path parameter → id
            var made = 0
            func missing(_ parameter: String, _ path: String) async throws -> Bool {
                guard let id = target[parameter] else { return true }
                return try await client.admin(.get, "\(path)/\(id)", token: owner).status != 200
            }
            func ensureFixtures() async throws {
                if try await client.call(.get, "/indexes/matrix-idx", key: key).status == 404 {
                    _ = try await client.createIndex("matrix-idx", dimension: 2, key: key)
                }
                // Deletion protection on this one keeps the organization from being deleted under the matrix.
                if try await client.call(.get, "/indexes/matrix-guard", key: key).status == 404 {
                    _ = try await client.createIndex("matrix-guard", dimension: 2, key: key, extra: #","deletion_protection":"enabled""#)
                }
                let data = "/data/\(project)/matrix-idx"
                for namespace in ["", "ns"] {
                    _ = try await client.call(.post, "\(data)/vectors/upsert", key: key, body: #"{"vectors":[{"id":"m","values":[1,0],"metadata":{"a":0}}],"namespace":"\#(namespace)"}"#)
                }
                made += 1
                if try await missing(":api_key_id", "/admin/api-keys") {
                    let created = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"target","roles":["DataPlaneViewer"]}"#)
                    target[":api_key_id"] = try #require((created.json["key"] as? [String: Any])?["id"] as? String)
                }
                if try await missing(":service_account_id", "/admin/service-accounts") {
                    let created = try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"target"}"#)
                    target[":service_account_id"] = try #require((created.json["service_account"] as? [String: Any])?["id"] as? String)
                    target[":role_binding_id"] = nil
                }
                if try await missing(":user_id", "/admin/users") {
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"matrix\#(made)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                    )
                    let token = try #require(invite.json["token"] as? String)
                    let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"matrix-password-123"}"#)
                    target[":user_id"] = try #require(accepted.json["id"] as? String)
                }
                if try await missing(":invite_id", "/admin/invites") {
                    let invite = try await client.admin(
                        .post, "/admin/invites", token: owner,
                        body: #"{"email":"pending\#(made)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                    )
                    target[":invite_id"] = try #require(invite.json["id"] as? String)
                }
                if try await missing(":role_binding_id", "/admin/role-bindings") {
                    let created = try await client.admin(
                        .post, "/admin/role-bindings", token: owner,
                        body: TargetRoleTests.binding(target[":service_account_id"]!, "project", project, "ProjectMember")
                    )
                    target[":role_binding_id"] = try #require(created.json["id"] as? String)
                }
                // An empty project that the project-delete cells can delete, with the same explicit members.
                if try await missing("doomed", "/admin/projects") {
                    let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"doomed-\#(made)"}"#)
                    let doomed = try #require(created.json["id"] as? String)
                    for member in projectMembers {
                        let bound = try await client.admin(
                            .post, "/admin/role-bindings", token: owner,
                            body: #"{"principal_type":"\#(member.type)","principal_id":"\#(member.id)","resource_type":"project","resource_id":"\#(doomed)","role":"\#(member.role.rawValue)"}"#
                        )
                        #expect(bound.status == 201 || bound.status == 200, "\(bound.text)")
                    }
                    target["doomed"] = doomed
                }
                // The CMEK cells act on the empty project, which holds one customer-managed key.
                let keys = try await client.admin(.get, "/admin/projects/\(target["doomed"]!)/cmek-keys", token: owner)
                if let key = (keys.json["data"] as? [[String: Any]])?.first?["id"] as? String {
                    target[":cmek_key_id"] = key
                } else {
                    let created = try await client.admin(
                        .post, "/admin/projects/\(target["doomed"]!)/cmek-keys", token: owner,
                        body: #"{"name":"matrix","key_arn":"arn:aws:kms:us-east-1:123456789012:key/matrix-\#(made)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#
                    )
                    target[":cmek_key_id"] = try #require(created.json["id"] as? String, "\(created.text)")
                }
                // A backup of the matrix index and a restore job from it.
                let backups = try await client.call(.get, "/backups", key: key)
                if let backup = (backups.json["data"] as? [[String: Any]])?.first?["backup_id"] as? String {
                    target[":backup_id"] = backup
                } else {
                    let created = try await client.call(.post, "/indexes/matrix-idx/backups", key: key, body: #"{"name":"matrix"}"#)
                    target[":backup_id"] = try #require(created.json["backup_id"] as? String, "\(created.text)")
                }
                if target[":job_id"] == nil {
                    let job = try await client.call(.post, "/backups/\(target[":backup_id"]!)/create-index", key: key, body: #"{"name":"matrix-restored"}"#)
                    target[":job_id"] = try #require(job.json["restore_job_id"] as? String, "\(job.text)")
                }
                // A disabled backup schedule of the matrix index; one a create cell made enabled is disabled again
                // (an index has one enabled schedule at most, so the next create cell would meet a conflict).
                let schedules = try await client.call(.get, "/indexes/matrix-idx/backup-schedules?limit=100", key: key).json["data"] as? [[String: Any]] ?? []
                for schedule in schedules where schedule["enabled"] as? Bool == true {
                    _ = try await client.call(.patch, "/backup-schedules/\(schedule["schedule_id"] as? String ?? "")", key: key, body: #"{"enabled":false}"#)
                }
                if !schedules.contains(where: { $0["schedule_id"] as? String == target[":schedule_id"] }) {
                    let created = try await client.call(
                        .post, "/indexes/matrix-idx/backup-schedules", key: key,
                        body: #"{"name":"matrix","schedule":{"type":"time-based","frequency":"daily"},"retention":{"expire_after_days":7}}"#
                    )
                    let schedule = try #require(created.json["schedule_id"] as? String, "\(created.text)")
                    _ = try await client.call(.patch, "/backup-schedules/\(schedule)", key: key, body: #"{"enabled":false}"#)
                    target[":schedule_id"] = schedule
                }
                // A collection of a pod-based index (the create cells name that index as their source).
                if try await client.call(.get, "/indexes/matrix-pod", key: key).status == 404 {
                    _ = try await client.call(
                        .post, "/indexes", key: key,
                        body: #"{"name":"matrix-pod","dimension":2,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1"}}}"#
                    )
                }
                if try await client.call(.get, "/collections/matrix-col", key: key).status == 404 {
                    let created = try await client.call(.post, "/collections", key: key, body: #"{"name":"matrix-col","source":"matrix-pod"}"#)
                    #expect(created.status == 201, "\(created.text)")
                }
                // A private endpoint of the main project, in a region without indexes.
                let endpoints = try await client.admin(.get, "/admin/projects/\(project)/private-endpoints", token: owner)
                if let endpoint = (endpoints.json["data"] as? [[String: Any]])?.first?["id"] as? String {
                    target[":private_endpoint_id"] = endpoint
                } else {
                    let created = try await client.admin(
                        .post, "/admin/projects/\(project)/private-endpoints", token: owner,
                        body: #"{"name":"matrix","region":"eu-central-9","allowed_cidrs":["192.0.2.0/24"]}"#
                    )
                    target[":private_endpoint_id"] = try #require(created.json["id"] as? String, "\(created.text)")
                }
                // A spend alert besides the spike alert (which cannot be deleted).
                let alerts = try await client.admin(.get, "/admin/organizations/\(organization)/spend-alerts", token: owner)
                if let alert = (alerts.json["data"] as? [[String: Any]])?.compactMap({ $0["id"] as? String }).first(where: { $0 != "spike" }) {
                    target[":alert_id"] = alert
                } else {
                    let created = try await client.admin(
                        .post, "/admin/organizations/\(organization)/spend-alerts", token: owner, body: #"{"amount_usd":100,"recipients":["ops@example.com"]}"#
                    )
                    target[":alert_id"] = try #require(created.json["id"] as? String, "\(created.text)")
                }
            }

            /// Waits until no restore job is running: a job ending inside a denied cell would change the index list.
            func restoresFinished() async throws {
                for _ in 0..<3000 {  // up to a minute on a loaded machine
                    let jobs = try await client.call(.get, "/restore-jobs?limit=100", key: key).json["data"] as? [[String: Any]] ?? []
                    if !jobs.contains(where: { ["Pending", "InProgress"].contains($0["status"] as? String ?? "") }) { return }
                    try await Task.sleep(for: .milliseconds(20))
                }
                Issue.record("a restore job did not end")
            }

            /// Everything a write could change: every row of the catalog, read in one snapshot, and every namespace
            /// and record of the index the data-plane cells call. Left out: the audit log (a refused call is audited),
            /// the usage ledger (this check's own reads are metered and land there when the meter flushes) and so the
            /// catalog's version, which every such flush counts up.
            let rows = try #require(catalog as? any SQLCatalog)
            var checking = Duration.zero
            func fingerprint() async throws -> [String] {
                let started = ContinuousClock.now
                defer { checking += ContinuousClock.now - started }
                let data = "/data/\(project)/matrix-idx"
                var views = [
                    try await client.call(.post, "\(data)/describe_index_stats", key: key, body: "{}").text,
                    try await client.call(.get, "\(data)/namespaces", key: key).text,
                ]
                for namespace in ["", "ns"] {
                    views.append(try await client.call(.get, "\(data)/vectors/list?namespace=\(namespace)", key: key).text)
                    views.append(try await client.call(.get, "\(data)/vectors/fetch?ids=m&namespace=\(namespace)", key: key).text)
                }
                return views + (try await rows.everyRow(excludingTablesStartingWith: ["audit_", "usage_ledger", "catalog_version"]))
            }

            func body(for entry: RouteEntry) -> String? {
                made += 1
                // Console routes take a form and the session cookie; every caller here is refused before a body is read.
                if entry.credential == .consoleSession { return nil }
                switch (entry.method, entry.path.split(separator: "/").last.map(String.init) ?? "") {
                case (.post, "indexes"): return #"{"name":"matrix-new-\#(made)","dimension":2,"metric":"cosine","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}}"#
                case (.patch, ":index_name"): return #"{"tags":{"k":"v\#(made)"}}"#
                case (.post, "upsert"): return #"{"vectors":[{"id":"new-\#(made)","values":[0,1]}]}"#
                case (.post, "query"), (.post, "search"): return #"{"topK":1,"vector":[1,0]}"#
                case (.post, "fetch_by_metadata"): return #"{"filter":{"a":1}}"#
                case (.post, "update"): return #"{"id":"m","values":[0.5,0.5],"setMetadata":{"a":\#(made)}}"#
                case (.post, "delete"): return #"{"ids":["m"]}"#
                case (.post, "describe_index_stats"): return "{}"
                case (.post, "namespaces"): return #"{"name":"created-\#(made)"}"#
                case (.post, "projects"): return #"{"name":"matrix-\#(made)"}"#
                case (.patch, ":project_id"): return #"{"max_pods":\#(made)}"#
                case (.post, "cmek-keys"): return #"{"name":"made-\#(made)","key_arn":"arn:aws:kms:us-east-1:123456789012:key/made-\#(made)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#
                case (.post, "backups"): return #"{"name":"made-\#(made)"}"#
                case (.post, "create-index"): return #"{"name":"restored-\#(made)"}"#
                case (.post, "collections"): return #"{"name":"made-\#(made)","source":"matrix-pod"}"#
                case (.post, "backup-schedules"):
                    return #"{"name":"made-\#(made)","schedule":{"type":"time-based","frequency":"weekly"},"retention":{"expire_after_days":3}}"#
                case (.patch, ":schedule_id"): return #"{"retention":{"expire_after_days":\#(made % 100 + 1)}}"#
                case (.post, "private-endpoints"): return #"{"name":"made-\#(made)","region":"us-west-2","allowed_cidrs":["198.51.100.0/24"]}"#
                case (.post, "api-keys"): return #"{"name":"made-\#(made)","roles":["DataPlaneViewer"]}"#
                case (.patch, ":api_key_id"): return #"{"name":"renamed-\#(made)"}"#
                case (.post, "service-accounts"): return #"{"name":"made-\#(made)","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                case (.patch, ":service_account_id"), (.patch, ":organization_id"): return #"{"name":"renamed-\#(made)"}"#
                case (.post, "invites"):
                    return #"{"email":"made\#(made)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                case (.post, "role-bindings"):
                    return TargetRoleTests.binding(target[":service_account_id"]!, "project", project, "ProjectMember")
                case (.post, "imports"): return #"{"uri":"s3://bucket/path"}"#
                case (.put, "sso"): return SSOTests.settings()
                case (.put, "audit-log"): return #"{"bucket":"matrix-audit/\#(made)","region":"us-east-1","role_arn":"arn:aws:iam::123456789012:role/audit"}"#
                case (.patch, "audit-log"): return #"{"batch_interval_seconds":\#(made)}"#
                case (.post, "spend-alerts"): return #"{"amount_usd":\#(made),"recipients":["ops@example.com"]}"#
                case (.patch, ":alert_id"): return #"{"amount_usd":\#(made + 1000)}"#
                case (.patch, "billing"):
                    return #"{"billing_contact":{"name":"Billing \#(made)","email":"billing@example.com","address":{"line1":"1 Main St","city":"Springfield","postal_code":"12345","country":"US"}}}"#
                case (.get, _), (.delete, _), (.post, "rotate-secret"), (.post, "resend"), (.post, "sign-out"): return nil
                default: Issue.record("no request body for \(entry.method.rawValue) \(entry.path)"); return "{}"
                }
            }

            var cells = 0
            var tally: [Outcome: Int] = [:]
            var answeredUnimplemented = Set<String>()
            // Only an allowed call that changes state can disturb the fixtures: every other write is checked to
            // change nothing (the fingerprint), so the fixtures are restored after allowed writes only.
            var disturbed = true
            // The state's fingerprint right after a refused write, which the next cell's check starts from when it
            // is a refused write too (nothing ran in between); nil after any other cell.
            var known: [String]?
            let guarded = table.entries.filter { $0.access != .open }
            let shardOf = Self.shard(of: guarded)
            let routes = guarded.filter { shardOf["\($0.method.rawValue) \($0.path)"] == shard }
            for entry in routes {
                let route = "\(entry.method.rawValue) \(entry.path)"
                let callers = anonymous.map { ($0.0, $0.1, Outcome.unauthenticated) }
                    + Column.allCases.map { ("\($0)", headers[$0]!, PermissionOracle.expected(route, $0)!) }
                for (name, callerHeaders, outcome) in callers {
                    if disturbed {
                        try await ensureFixtures()
                        try await restoresFinished()
                        known = nil
                    }
                    disturbed = outcome == .allowed && entry.changesState
                    var path = entry.path
                    for (parameter, value) in target { path = path.replacingOccurrences(of: parameter, with: value) }
                    path = path
                        .replacingOccurrences(of: ":organization_id", with: organization)
                        .replacingOccurrences(
                            of: ":project_id", with: route == "DELETE /admin/projects/:project_id" || route.contains("cmek-keys") ? target["doomed"]! : project
                        )
                        .replacingOccurrences(of: ":index_name", with: "matrix-idx")
                        .replacingOccurrences(of: ":collection_name", with: "matrix-col")
                        .replacingOccurrences(of: ":namespace", with: "ns")
                        .replacingOccurrences(of: ":import_id", with: "1")
                    if entry.path.hasSuffix("vectors/fetch") { path += "?ids=m" }
                    let isWrite = entry.method != .get
                    var before: [String] = []
                    if outcome != .allowed && isWrite {
                        if let known { before = known } else { before = try await fingerprint() }
                    }
                    known = nil
                    let reply = try await client.call(entry.method, path, key: nil, headers: callerHeaders, body: body(for: entry))
                    let label = "\(route) as \(name): \(reply.status) \(reply.text.prefix(160))"
                    switch outcome {
                    case .unauthenticated: #expect(reply.status == 401, "\(label)")
                    case .denied: #expect(reply.status == 403, "\(label)")
                    case .hidden: #expect(reply.status == 404, "\(label)")
                    case .allowed:
                        if reply.status == 501 { answeredUnimplemented.insert(route) }
                        let unimplemented = PermissionOracle.unimplementedRoutes.contains(route)
                        if let status = PermissionOracle.preconditionRoutes[route] {
                            #expect(reply.status == status, "\(label)")
                        } else {
                            #expect(unimplemented ? reply.status == 501 : (200..<300).contains(reply.status), "\(label)")
                        }
                    }
                    if !before.isEmpty {
                        let after = try await fingerprint()
                        #expect(
                            after == before,
                            "denied write changed state: \(label); gone: \(Set(before).subtracting(after)), new: \(Set(after).subtracting(before))"
                        )
                        known = after
                    }
                    cells += 1
                    tally[outcome, default: 0] += 1
                }
            }
            let shardRoutes = Set(routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(answeredUnimplemented == PermissionOracle.unimplementedRoutes.intersection(shardRoutes))
            print("permission matrix, shard \(shard + 1) of \(Self.shards): \(routes.count) routes x \(anonymous.count + Column.allCases.count) callers = \(cells) cells; \(tally); state checks \(checking)")
            #expect(cells == routes.count * (anonymous.count + Column.allCases.count))
            #expect(table.entries.filter { $0.access != .open }.count == PermissionOracle.table.count, "every route of the oracle, in one shard or the other")
        }
    }

    @Test func everyRegisteredRouteIsInTheTableAndNothingElseAnswers() async throws {
        try await TestServer.run { server, client in
            let (router, table) = server.buildRouter()
            let keys = table.entries.map { "\($0.method.rawValue) \($0.path)" }
            #expect(Set(keys).count == keys.count, "a route is registered twice")
            // Walk the real router: every route it serves is a table entry or a 405 fallback of an entry's path.
            let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
            let fallbacks = Set(table.entries.map(\.path)).flatMap { path in
                methods.filter { method in !table.entries.contains { $0.path == path && $0.method == method } }.map { "\($0.rawValue) \(path)" }
            }
            // The router prints parameters as `{name}`; the table writes `:name`.
            let served = router.routes.map { "\($0.method.rawValue) \("\($0.path)".replacing(/\{(\w+)\}/) { ":" + $0.1 })" }
            #expect(served.count == Set(served).count)
            #expect(Set(served) == Set(keys).union(fallbacks), "routes the router serves but the table does not list: \(Set(served).subtracting(keys).subtracting(fallbacks))")
            #expect(Set(served).isSuperset(of: PermissionOracle.publicRoutes.union(PermissionOracle.table.keys)))
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
