import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// The permission matrix with the console's own callers: signed-in users holding the roles of the oracle's bearer-token
/// columns call every console route (GET and POST, each with its session's CSRF token), and get what the oracle says
/// a bearer token of the same roles gets on the Admin API route the console route does the work of. So a console
/// user can do nothing the Admin API would refuse her, and is refused nothing it would allow.
///
/// A state-changing form that is allowed either acts on a resource made for that column (an invite, a member, a
/// service account, an API key, a backup, a backup schedule, so no cell disturbs another), or carries a field the
/// service refuses after the decision (a 400 shows the call was let through; nothing changed). Removing a CMEK key or a
/// private endpoint names one that does not exist: allowed and hidden both answer 404 there, refused 403.
@Suite struct ConsoleRoleTests {
    typealias Column = PermissionOracle.Column
    typealias Outcome = PermissionOracle.Outcome

    /// Console route → the Admin API route whose oracle row it follows (nil: any signed-in user).
    static let counterparts: [String: String?] = [
        "POST /console/sign-out": nil,
        "GET /console": "GET /admin/organizations/:organization_id",
        "GET /console/members": "GET /admin/users",
        "POST /console/invites": "POST /admin/invites",
        "POST /console/invites/:invite_id/delete": "DELETE /admin/invites/:invite_id",
        // Setting a member's organization role takes org-members:write, as inviting with one does.
        "POST /console/users/:user_id/role": "POST /admin/invites",
        "POST /console/users/:user_id/delete": "DELETE /admin/users/:user_id",
        "GET /console/service-accounts": "GET /admin/service-accounts",
        "POST /console/service-accounts": "POST /admin/service-accounts",
        "POST /console/service-accounts/:service_account_id/rotate-secret": "POST /admin/service-accounts/:service_account_id/rotate-secret",
        "POST /console/service-accounts/:service_account_id/delete": "DELETE /admin/service-accounts/:service_account_id",
        "POST /console/projects": "POST /admin/projects",
        "GET /console/projects/:project_id": "GET /admin/projects/:project_id",
        "POST /console/projects/:project_id": "PATCH /admin/projects/:project_id",
        "POST /console/projects/:project_id/delete": "DELETE /admin/projects/:project_id",
        "POST /console/projects/:project_id/api-keys": "POST /admin/projects/:project_id/api-keys",
        "POST /console/api-keys/:api_key_id/delete": "DELETE /admin/api-keys/:api_key_id",
        "GET /console/api-keys/:api_key_id": "GET /admin/api-keys/:api_key_id",
        "POST /console/api-keys/:api_key_id": "PATCH /admin/api-keys/:api_key_id",
        "POST /console/service-accounts/:service_account_id": "PATCH /admin/service-accounts/:service_account_id",
        "POST /console/organization": "PATCH /admin/organizations/:organization_id",
        "POST /console/organization/delete": "DELETE /admin/organizations/:organization_id",
        "POST /console/projects/:project_id/cmek-keys": "POST /admin/projects/:project_id/cmek-keys",
        "POST /console/projects/:project_id/cmek-keys/:cmek_key_id/delete": "DELETE /admin/projects/:project_id/cmek-keys/:cmek_key_id",
        "POST /console/projects/:project_id/private-endpoints": "POST /admin/projects/:project_id/private-endpoints",
        "POST /console/projects/:project_id/private-endpoints/:private_endpoint_id/delete":
            "DELETE /admin/projects/:project_id/private-endpoints/:private_endpoint_id",
        // Index pages: the control and data plane's routes, as a bearer token with X-Project-Id of the project.
        "GET /console/projects/:project_id/indexes": "GET /indexes",
        "POST /console/projects/:project_id/indexes": "POST /indexes",
        "GET /console/projects/:project_id/indexes/:index_name": "GET /indexes/:index_name",
        "POST /console/projects/:project_id/indexes/:index_name": "PATCH /indexes/:index_name",
        "POST /console/projects/:project_id/indexes/:index_name/delete": "DELETE /indexes/:index_name",
        "GET /console/projects/:project_id/indexes/:index_name/query": "POST /data/:project_id/:index_name/query",
        "GET /console/projects/:project_id/indexes/:index_name/metrics": "GET /indexes/:index_name",
        "POST /console/projects/:project_id/indexes/:index_name/backups": "POST /indexes/:index_name/backups",
        "POST /console/projects/:project_id/members": "POST /admin/role-bindings",
        "POST /console/role-bindings/:role_binding_id/delete": "DELETE /admin/role-bindings/:role_binding_id",
        "GET /console/audit-log": "GET /admin/audit-events",
        "POST /console/audit-log": "PUT /admin/audit-log",
        "POST /console/audit-log/pause": "PATCH /admin/audit-log",
        "POST /console/audit-log/delete": "DELETE /admin/audit-log",
        "GET /console/single-sign-on": "GET /admin/organizations/:organization_id/sso",
        "POST /console/single-sign-on": "PUT /admin/organizations/:organization_id/sso",
        "POST /console/single-sign-on/delete": "DELETE /admin/organizations/:organization_id/sso",
        "GET /console/billing": "GET /admin/organizations/:organization_id/billing",
        "POST /console/billing": "PATCH /admin/organizations/:organization_id/billing",
        "POST /console/spend-alerts": "POST /admin/organizations/:organization_id/spend-alerts",
        "POST /console/spend-alerts/:alert_id": "PATCH /admin/organizations/:organization_id/spend-alerts/:alert_id",
        "POST /console/spend-alerts/:alert_id/delete": "DELETE /admin/organizations/:organization_id/spend-alerts/:alert_id",
        "GET /console/projects/:project_id/backups": "GET /backups",
        "POST /console/projects/:project_id/backups/:backup_id/restore": "POST /backups/:backup_id/create-index",
        "POST /console/projects/:project_id/backups/:backup_id/delete": "DELETE /backups/:backup_id",
        "POST /console/projects/:project_id/indexes/:index_name/backup-schedules": "POST /indexes/:index_name/backup-schedules",
        "POST /console/projects/:project_id/backup-schedules/:schedule_id": "PATCH /backup-schedules/:schedule_id",
        "POST /console/projects/:project_id/backup-schedules/:schedule_id/delete": "DELETE /backup-schedules/:schedule_id",
        "GET /console/projects/:project_id/indexes/:index_name/metrics/:chart": "GET /indexes/:index_name",
    ]

    /// Console routes whose counterpart is a control- or data-plane route: where the API refuses a bearer token naming a
    /// project it cannot see (403), the console's path names that project, which it hides (404) as the Admin API's
    /// project routes do.
    static func expected(_ route: String, _ counterpart: String, _ column: Column) -> Outcome? {
        let projectPlane = !counterpart.hasPrefix("GET /admin") && !counterpart.hasPrefix("POST /admin") && !counterpart.hasPrefix("PATCH /admin")
            && !counterpart.hasPrefix("DELETE /admin")
        if projectPlane, route.contains(":project_id"), PermissionOracle.expected("GET /admin/projects/:project_id", column) == .hidden {
            return .hidden
        }
        return PermissionOracle.expected(counterpart, column)
    }

    /// The oracle's bearer-token columns a console user can be (the owner of another organization is not: a user
    /// belongs to one), with the user's bindings: organization role, and a role in the main project.
    static let columns: [(Column, String, String?)] = [
        (.orgOwner, "OrgOwner", nil), (.orgManager, "OrgManager", nil), (.orgMember, "OrgMember", nil), (.orgBillingAdmin, "OrgBillingAdmin", nil),
        (.orgMemberProjectOwner, "OrgMember", "ProjectOwner"), (.orgMemberProjectManager, "OrgMember", "ProjectManager"),
        (.userProjectMember, "OrgMember", "ProjectMember"),
    ]

    /// Invites `email` with the bindings and accepts; the new user's id.
    static func member(_ client: any TestClientProtocol, owner: String, email: String, role: String, project: String?, projectRole: String?) async throws -> String {
        var bindings = [#"{"resource_type":"organization","role":"\#(role)"}"#]
        if let project, let projectRole { bindings.append(#"{"resource_type":"project","resource_id":"\#(project)","role":"\#(projectRole)"}"#) }
        let invite = try await client.admin(.post, "/admin/invites", token: owner, body: #"{"email":"\#(email)","role_bindings":[\#(bindings.joined(separator: ","))]}"#)
        let token = try #require(invite.json["token"] as? String, "\(invite.text)")
        let user = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"\#(ConsoleTests.password)"}"#)
        return try #require(user.json["id"] as? String, "\(user.text)")
    }

    @Test func everyConsoleRouteAnswersEachRoleAsTheAdminAPIsOracleSays() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let routes = server.buildRouter().1.entries.filter { $0.credential == .consoleSession }
            #expect(Set(routes.map { "\($0.method.rawValue) \($0.path)" }) == Set(Self.counterparts.keys), "every console route has its counterpart")
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"main"}"#).json["id"] as? String)
            let loader = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"loader"}"#)
            let loaderKey = try #require(loader.json["value"] as? String, "\(loader.text)")
            #expect(try await client.createIndex("matrix", dimension: 2, key: loaderKey).status == 201)

            var cells = 0
            for (index, (column, role, projectRole)) in Self.columns.enumerated() {
                _ = try await Self.member(client, owner: owner, email: "caller\(index)@example.com", role: role, project: project, projectRole: projectRole)
                // Leaving (a member removing itself) is the one way a caller is the user a path names: never here.
                let session = try await ConsolePageTests.signIn(client, email: "caller\(index)@example.com")
                // What this column's cells act on, made by the owner.
                let target = try await Self.member(client, owner: owner, email: "target\(index)@example.com", role: "OrgMember", project: nil, projectRole: nil)
                let invite = try #require(try await client.admin(
                    .post, "/admin/invites", token: owner, body: #"{"email":"pending\#(index)@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
                ).json["id"] as? String)
                let account = try await client.serviceAccount("target-\(index)", role: .member, owner: owner).id
                let connected = try await client.serviceAccount("connected-\(index)", role: .member, owner: owner).id
                let binding = try await client.admin(.post, "/admin/role-bindings", token: owner, body: TargetRoleTests.binding(connected, "project", project, "ProjectMember"))
                let bindingID = try #require(binding.json["id"] as? String, "\(binding.text)")
                let key = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"target-\#(index)"}"#)
                let keyID = try #require((key.json["key"] as? [String: Any])?["id"] as? String, "\(key.text)")
                let backup = try await client.call(.post, "/indexes/matrix/backups", key: loaderKey, body: #"{"name":"target-\#(index)"}"#)
                let backupID = try #require(backup.json["backup_id"] as? String, "\(backup.text)")
                let schedule = try await client.call(
                    .post, "/indexes/matrix/backup-schedules", key: loaderKey,
                    body: #"{"name":"target-\#(index)","schedule":{"type":"time-based","frequency":"daily"},"retention":{"expire_after_days":7}}"#
                )
                let scheduleID = try #require(schedule.json["schedule_id"] as? String, "\(schedule.text)")
                // Paused, so the next column's can be made (an index has one running schedule at most).
                #expect(try await client.call(.patch, "/backup-schedules/\(scheduleID)", key: loaderKey, body: #"{"enabled":false}"#).status == 200)
                let missing = UUID().uuidString.lowercased()
                let values = [
                    ":project_id": project, ":invite_id": invite, ":user_id": target, ":service_account_id": account, ":api_key_id": keyID,
                    ":cmek_key_id": missing, ":private_endpoint_id": missing, ":index_name": "matrix", ":chart": "latency", ":backup_id": backupID, ":schedule_id": scheduleID, ":alert_id": "spike", ":role_binding_id": bindingID,
                ]
                // Fields the service refuses once the call is let through.
                let refused: [(String, String)] = [
                    ("email", "not-an-email"), ("role", "NotARole"), ("name", ""), ("max_pods", "many"), ("confirm", "not the name"),
                    ("key_arn", "not-an-arn"), ("region", ""), ("frequency", "hourly"),
                ]
                for entry in routes where entry.path != "/console/sign-out" {
                    let route = "\(entry.method.rawValue) \(entry.path)"
                    var path = entry.path
                    for (name, value) in values { path = path.replacingOccurrences(of: name, with: value) }
                    if path.hasSuffix("/query") { path += "?top_k=1&vector=1,0" }
                    let reply = entry.method == .get
                        ? try await ConsoleTests.browse(client, .get, path, cookie: session.cookie)
                        : try await ConsolePageTests.post(client, path, session, refused)
                    let counterpart = try #require(Self.counterparts[route] ?? nil, "\(route) has no counterpart")
                    let expected = try #require(Self.expected(route, counterpart, column), "\(counterpart) is not in the oracle")
                    let cell = "\(route) as \(column): \(reply.status)"
                    switch expected {
                    case .allowed:
                        #expect(![401, 403].contains(reply.status) && (entry.method != .get || reply.status == 200), "\(cell) \(reply.text.prefix(300))")
                    case .denied: #expect(reply.status == 403, "\(cell), refused expected")
                    case .hidden: #expect(reply.status == 404, "\(cell), hidden expected")
                    case .unauthenticated: Issue.record("\(cell): a signed-in user is never unauthenticated")
                    }
                    cells += 1
                }
            }
            #expect(cells == Self.columns.count * (Self.counterparts.count - 1))
        }
    }
}
