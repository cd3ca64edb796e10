import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import ConiferServer

/// The console's administrative pages over HTTP, as a browser without script uses them: a signed-in owner
/// creates a project, an API key (its secret shown once), a CMEK key and a private endpoint; invites a member who
/// accepts in the console; changes her role; creates and rotates a service account. What the pages did is
/// checked through the Admin API and the keys themselves; every form is refused without its session's CSRF
/// token; a member sees and may do only what her role allows; hostile names stay text.
@Suite struct ConsolePageTests {
    typealias Console = ConsoleTests
    static let hostile = #"<script>alert(1)</script>" onmouseover="x' &"#

    /// A user of the organization with `role`, signed in to the console: its session cookie and CSRF token.
    static func signedIn(_ client: any TestClientProtocol, owner: String, email: String, role: String) async throws -> (cookie: String, csrf: String) {
        let invite = try await client.admin(
            .post, "/admin/invites", token: owner, body: #"{"email":"\#(email)","role_bindings":[{"resource_type":"organization","role":"\#(role)"}]}"#
        )
        let token = try #require(invite.json["token"] as? String, "\(invite.text)")
        #expect(try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"\#(Console.password)"}"#).status == 200)
        return try await signIn(client, email: email)
    }

    static func signIn(_ client: any TestClientProtocol, email: String) async throws -> (cookie: String, csrf: String) {
        let form = "email=\(escape(email))&password=\(escape(Console.password))"
        let reply = try await Console.browse(client, .post, "/console/sign-in", form: form)
        let cookie = try #require(Console.cookie(of: reply), "\(reply.status) \(reply.text)")
        let page = try await Console.browse(client, .get, "/console", cookie: cookie)
        let csrf = try #require(page.text.firstMatch(of: /name="csrf_token" value="([A-Za-z0-9_-]+)"/)?.1).description
        return (cookie, csrf)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// A form post with the session's token and the given fields.
    static func post(
        _ client: any TestClientProtocol, _ path: String, _ session: (cookie: String, csrf: String), _ fields: [(String, String)] = []
    ) async throws -> Reply {
        let form = ([("csrf_token", session.csrf)] + fields).map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        return try await Console.browse(client, .post, path, cookie: session.cookie, form: form)
    }

    static func data(_ reply: Reply) -> [[String: Any]] { reply.json["data"] as? [[String: Any]] ?? [] }

    /// A page's text shows `hostile` only escaped.
    static func expectInert(_ page: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!page.text.contains("<script") && !page.text.contains(#"" onmouseover"#), "\(page.text)", sourceLocation: sourceLocation)
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), sourceLocation: sourceLocation)
    }

    @Test func anOwnerRunsTheProjectProceduresInTheConsole() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")

            // Create a project (its name hostile), then land on its page.
            let created = try await Self.post(client, "/console/projects", session, [("name", Self.hostile)])
            #expect(created.status == 303, "\(created.text)")
            let location = try #require(created.headers[.location])
            let projectID = String(location.dropFirst("/console/projects/".count))
            let projects = Self.data(try await client.admin(.get, "/admin/projects", token: owner))
            #expect(projects.contains { $0["id"] as? String == projectID && $0["name"] as? String == Self.hostile })
            var page = try await Console.browse(client, .get, location, cookie: session.cookie)
            #expect(page.status == 200)
            Console.expectStrictHeaders(page)
            Self.expectInert(page)

            // An API key with two roles: its secret on one page only, and it works.
            let key = try await Self.post(client, "\(location)/api-keys", session, [
                ("name", Self.hostile), ("role_ControlPlaneEditor", "true"), ("role_DataPlaneViewer", "true"),
            ])
            #expect(key.status == 200, "\(key.text)")
            Self.expectInert(key)
            let secret = try #require(key.text.firstMatch(of: /id="api-key">(pcsk_[A-Za-z0-9_]+)</)?.1).description
            #expect(key.headers[.cacheControl] == "no-store")
            let indexes = try await client.call(.get, "/indexes", key: secret)
            #expect(indexes.status == 200, "the key from the page authenticates: \(indexes.text)")
            page = try await Console.browse(client, .get, location, cookie: session.cookie)
            #expect(!page.text.contains(secret) && page.text.contains("ControlPlaneEditor, DataPlaneViewer"), "masked after its one showing")
            let keys = Self.data(try await client.admin(.get, "/admin/projects/\(projectID)/api-keys", token: owner))
            #expect(keys.count == 1 && (keys.first?["roles"] as? [String])?.sorted() == ["ControlPlaneEditor", "DataPlaneViewer"])
            // Its own page renames it and replaces its roles (the secret stays the same and now reads data only).
            let keyID = try #require(keys.first?["id"] as? String)
            let keyPage = try await Console.browse(client, .get, "/console/api-keys/\(keyID)", cookie: session.cookie)
            #expect(keyPage.status == 200 && !keyPage.text.contains(secret) && keyPage.text.contains(#"name="role_DataPlaneViewer" value="true" checked"#))
            Self.expectInert(keyPage)
            #expect(try await Self.post(client, "/console/api-keys/\(keyID)", session, [("name", "reader")]).status == 400, "a key keeps a role")
            #expect(try await Self.post(client, "/console/api-keys/\(keyID)", session, [("name", "reader"), ("role_DataPlaneViewer", "true")]).status == 303)
            let updated = try await client.admin(.get, "/admin/api-keys/\(keyID)", token: owner).json
            #expect(updated["name"] as? String == "reader" && updated["roles"] as? [String] == ["DataPlaneViewer"], "\(updated)")
            #expect(try await client.call(.get, "/indexes", key: secret).status == 403, "no control-plane role any more")

            // Settings: private-only on, a pod limit; a CMEK key needs its role; a private endpoint with a network.
            #expect(try await Self.post(client, location, session, [("name", "renamed"), ("max_pods", "4"), ("private_endpoint_access_only", "true")]).status == 303)
            let project = try await client.admin(.get, "/admin/projects/\(projectID)", token: owner).json
            #expect(project["name"] as? String == "renamed" && project["max_pods"] as? Int == 4 && project["private_endpoint_access_only"] as? Bool == true, "\(project)")
            let noRole = try await Self.post(client, "\(location)/cmek-keys", session, [("name", "k"), ("key_arn", "arn:aws:kms:us-east-1:111122223333:key/1234")])
            #expect(noRole.status == 400 && noRole.text.contains("role_arn is required"), "the API's rule, as a page: \(noRole.text)")
            let endpoint = try await Self.post(client, "\(location)/private-endpoints", session, [
                ("name", Self.hostile), ("region", "us-east-1"), ("vpc_endpoint_id", ""), ("allowed_cidrs", "10.0.0.0/8, 192.168.1.0/24"),
            ])
            #expect(endpoint.status == 303, "\(endpoint.text)")
            let endpoints = Self.data(try await client.admin(.get, "/admin/projects/\(projectID)/private-endpoints", token: owner))
            #expect((endpoints.first?["allowed_cidrs"] as? [String]) == ["10.0.0.0/8", "192.168.1.0/24"], "\(endpoints)")
            page = try await Console.browse(client, .get, location, cookie: session.cookie)
            Self.expectInert(page)

            // Connect a service account to the project as ProjectMember, then remove it again.
            let robot = try await client.serviceAccount("robot", role: .member, owner: owner)
            let added = try await Self.post(client, "\(location)/members", session, [("principal", "service_account:\(robot.id)"), ("role", "ProjectMember")])
            #expect(added.status == 303, "\(added.text)")
            var bindings = Self.data(try await client.admin(.get, "/admin/role-bindings?resource_type=project&resource_id=\(projectID)", token: owner))
            let robotBinding = try #require(bindings.first { $0["principal_id"] as? String == robot.id && $0["role"] as? String == "ProjectMember" }?["id"] as? String)
            page = try await Console.browse(client, .get, location, cookie: session.cookie)
            #expect(page.text.contains("robot") && page.text.contains("/console/role-bindings/\(robotBinding)/delete"))
            #expect(try await Self.post(client, "/console/role-bindings/\(robotBinding)/delete", session).status == 303)
            bindings = Self.data(try await client.admin(.get, "/admin/role-bindings?resource_type=project&resource_id=\(projectID)", token: owner))
            #expect(!bindings.contains { $0["id"] as? String == robotBinding })

            // Deleting asks for the name; the wrong one deletes nothing.
            #expect(try await Self.post(client, "\(location)/delete", session, [("confirm", "wrong")]).status == 400)
            #expect(try await client.admin(.get, "/admin/projects/\(projectID)", token: owner).status == 200)
            let deleted = try await Self.post(client, "\(location)/delete", session, [("confirm", "renamed")])
            #expect(deleted.status == 303 && deleted.headers[.location] == "/console")
            #expect(try await client.admin(.get, "/admin/projects/\(projectID)", token: owner).status == 404)
        }
    }

    /// The owner renames the organization and deletes it: the wrong name deletes nothing; the right one ends her
    /// session with it. An OrgMember sees neither form and is refused both.
    @Test func theOrganizationIsRenamedAndDeletedInTheConsole() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")
            let member = try await Self.signedIn(client, owner: owner, email: "member@example.com", role: "OrgMember")
            let organization = try #require(Self.data(try await client.admin(.get, "/admin/organizations", token: owner)).first?["id"] as? String)
            let asMember = try await Console.browse(client, .get, "/console", cookie: member.cookie)
            #expect(asMember.status == 200 && !asMember.text.contains("/console/organization"))
            #expect(try await Self.post(client, "/console/organization", member, [("name", "mine")]).status == 403)
            #expect(try await Self.post(client, "/console/organization/delete", member, [("confirm", "mine")]).status == 403)

            #expect(try await Self.post(client, "/console/organization", session, [("name", Self.hostile)]).status == 303)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["name"] as? String == Self.hostile)
            Self.expectInert(try await Console.browse(client, .get, "/console", cookie: session.cookie))
            #expect(try await Self.post(client, "/console/organization", session, [("name", "Acme")]).status == 303)
            #expect(try await Self.post(client, "/console/organization/delete", session, [("confirm", "acme")]).status == 400)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).status == 200, "nothing deleted")
            let deleted = try await Self.post(client, "/console/organization/delete", session, [("confirm", "Acme")])
            #expect(deleted.status == 303 && deleted.headers[.location] == "/console/sign-in" && deleted.headers[.setCookie]?.contains("Max-Age=0") == true, "\(deleted.headers)")
            #expect(try await Console.browse(client, .get, "/console", cookie: session.cookie).status == 401, "her session ended with the organization")
        }
    }

    @Test func membersAndServiceAccountsAreManagedInTheConsole() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")

            // Invite (no mail here: the page shows the link once), accept in the console with a hostile name.
            let invited = try await Self.post(client, "/console/invites", session, [("email", "ada@example.com"), ("role", "OrgMember")])
            #expect(invited.status == 200, "\(invited.text)")
            let link = try #require(invited.text.firstMatch(of: /id="invite-link">(http[^<]+)</)?.1).description
            let path = String(link.dropFirst("http://\(Console.host)".count))
            let acceptPage = try await Console.browse(client, .get, path)
            let token = try #require(acceptPage.text.firstMatch(of: /name="token" value="(pcinv_[A-Za-z0-9_]+)"/)?.1).description
            let accepted = try await Console.browse(
                client, .post, "/console/accept-invite", form: "token=\(token)&name=\(Self.escape(Self.hostile))&password=\(Self.escape(Console.password))"
            )
            #expect(accepted.status == 303 && accepted.headers[.location] == "/console/sign-in?accepted=1", "\(accepted.text)")
            let ada = try await Self.signIn(client, email: "ada@example.com")

            var members = try await Console.browse(client, .get, "/console/members", cookie: session.cookie)
            Self.expectInert(members)
            let adaID = try #require(Self.data(try await client.admin(.get, "/admin/users?email=ada%40example.com", token: owner)).first?["id"] as? String)

            // Ada, an OrgMember, sees the members but no forms, and is refused the owner's actions.
            let asAda = try await Console.browse(client, .get, "/console/members", cookie: ada.cookie)
            #expect(asAda.status == 200 && !asAda.text.contains("action=\"/console/invites\"") && !asAda.text.contains("Change role"))
            #expect(!asAda.text.contains("/console/service-accounts"), "no service-accounts entry for her role")
            #expect(try await Console.browse(client, .get, "/console/service-accounts", cookie: ada.cookie).status == 403)
            #expect(try await Self.post(client, "/console/invites", ada, [("email", "eve@example.com"), ("role", "OrgOwner")]).status == 403)
            #expect(try await Self.post(client, "/console/users/\(adaID)/role", ada, [("role", "OrgOwner")]).status == 403)

            // The owner makes her an OrgManager: the Admin API shows it, and her next page opens service accounts.
            #expect(try await Self.post(client, "/console/users/\(adaID)/role", session, [("role", "OrgManager")]).status == 303)
            let bindings = Self.data(try await client.admin(.get, "/admin/role-bindings?principal_type=user&principal_id=\(adaID)", token: owner))
            #expect(bindings.map { $0["role"] as? String } == ["OrgManager"], "\(bindings)")
            #expect(try await Console.browse(client, .get, "/console/service-accounts", cookie: ada.cookie).status == 200)

            // A service account: its secret once, a rotation that retires it.
            let account = try await Self.post(client, "/console/service-accounts", session, [("name", Self.hostile), ("role", "OrgMember")])
            #expect(account.status == 200, "\(account.text)")
            Self.expectInert(account)
            let clientID = try #require(account.text.firstMatch(of: /id="client-id">([^<]+)</)?.1).description
            let first = try #require(account.text.firstMatch(of: /id="client-secret">([^<]+)</)?.1).description
            #expect(try await client.token(clientID: clientID, secret: first).isEmpty == false)
            let accounts = Self.data(try await client.admin(.get, "/admin/service-accounts", token: owner))
            let accountID = try #require(accounts.first { $0["client_id"] as? String == clientID }?["id"] as? String)
            let page = try await Console.browse(client, .get, "/console/service-accounts", cookie: session.cookie)
            Self.expectInert(page)
            #expect(!page.text.contains(first))
            let rotated = try await Self.post(client, "/console/service-accounts/\(accountID)/rotate-secret", session)
            let second = try #require(rotated.text.firstMatch(of: /id="client-secret">([^<]+)</)?.1).description
            #expect(second != first)
            await #expect(throws: (any Error).self) { _ = try await client.token(clientID: clientID, secret: first) }
            #expect(try await Self.post(client, "/console/service-accounts/\(accountID)", session, [("name", "")]).status == 400)
            #expect(try await Self.post(client, "/console/service-accounts/\(accountID)", session, [("name", "robot")]).status == 303)
            #expect(try await client.admin(.get, "/admin/service-accounts/\(accountID)", token: owner).json["name"] as? String == "robot")
            #expect(try await Self.post(client, "/console/service-accounts/\(accountID)/delete", session).status == 303)
            #expect(try await client.admin(.get, "/admin/service-accounts/\(accountID)", token: owner).status == 404)

            // Revoke a pending invitation; remove Ada (her session then ends with her membership).
            _ = try await Self.post(client, "/console/invites", session, [("email", "bob@example.com"), ("role", "OrgMember")])
            let inviteID = try #require(Self.data(try await client.admin(.get, "/admin/invites", token: owner)).first { $0["email"] as? String == "bob@example.com" }?["id"] as? String)
            #expect(try await Self.post(client, "/console/invites/\(inviteID)/delete", session).status == 303)
            #expect(try await client.admin(.get, "/admin/invites/\(inviteID)", token: owner).status == 404)
            #expect(try await Self.post(client, "/console/users/\(adaID)/delete", session).status == 303)
            members = try await Console.browse(client, .get, "/console/members", cookie: session.cookie)
            #expect(!members.text.contains("ada@example.com"))
            #expect(try await Console.browse(client, .get, "/console", cookie: ada.cookie).status == 401)
        }
    }

    /// The create form takes each deployment and read capacity of the 2026-07 API (and a CMEK key), and the configure
    /// form changes a pod index's replicas and type and another's read capacity; the API describes what the forms made.
    @Test func indexesAreCreatedAndConfiguredWithEveryDeploymentAndReadCapacity() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"p","max_pods":4}"#).json["id"] as? String)
            let key = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"k"}"#).json["value"] as? String)
            let indexes = "/console/projects/\(project)/indexes"
            func describe(_ name: String) async throws -> [String: Any] {
                try await client.call(.get, "/indexes/\(name)", key: key, version: "2026-07").json
            }
            let dense: [(String, String)] = [("vector_type", "dense"), ("dimension", "2"), ("metric", "cosine")]
            var created = try await Self.post(client, indexes, session, [("name", "pods"), ("deployment_type", "pod"), ("environment", "us-east-1-aws"),
                                                                         ("pod_type", "p2.x1"), ("pod_replicas", "2"), ("pod_shards", "")] + dense)
            #expect(created.status == 303, "\(created.text)")
            var deployment = try await describe("pods")["deployment"] as? [String: Any]
            #expect(deployment?["deployment_type"] as? String == "pod" && deployment?["environment"] as? String == "us-east-1-aws")
            #expect(deployment?["pod_type"] as? String == "p2.x1" && deployment?["replicas"] as? Int == 2 && deployment?["shards"] as? Int == 1)
            #expect(try await Self.post(client, "\(indexes)/pods", session, [("pod_replicas", "3"), ("pod_type", "p2.x1")]).status == 303)
            deployment = try await describe("pods")["deployment"] as? [String: Any]
            #expect(deployment?["replicas"] as? Int == 3 && deployment?["pod_type"] as? String == "p2.x1")
            #expect(try await Self.post(client, "\(indexes)/pods", session, [("pod_replicas", "3"), ("pod_type", "p2.x2")]).status == 303)
            #expect(try await describe("pods")["deployment"].flatMap { ($0 as? [String: Any])?["pod_type"] as? String } == "p2.x2")
            #expect(try await Self.post(client, "\(indexes)/pods", session, [("pod_replicas", "9")]).status == 403, "over the project's 4 pods, as the API says")
            #expect(try await Self.post(client, "\(indexes)/pods", session, [("pod_replicas", "two")]).status == 400)

            created = try await Self.post(client, indexes, session, [("name", "byoc"), ("deployment_type", "byoc"), ("environment", "aws-us-east-1-b921")] + dense)
            #expect(created.status == 303, "\(created.text)")
            #expect(try await describe("byoc")["deployment"].flatMap { ($0 as? [String: Any])?["environment"] as? String } == "aws-us-east-1-b921")

            let dedicated = [("read_capacity", "Dedicated"), ("node_type", "t1"), ("read_replicas", "2"), ("read_shards", "1")]
            #expect(try await Self.post(client, indexes, session, [("name", "fast"), ("cloud", "aws"), ("region", "us-east-1"), ("read_capacity", "Dedicated"),
                                                                   ("node_type", "x9")] + dense).status == 400, "the API's node types")
            created = try await Self.post(client, indexes, session, [("name", "fast"), ("cloud", "aws"), ("region", "us-east-1")] + dedicated + dense)
            #expect(created.status == 303, "\(created.text)")
            var capacity = try await describe("fast")["read_capacity"] as? [String: Any]
            #expect(capacity?["mode"] as? String == "Dedicated" && (capacity?["dedicated"] as? [String: Any])?["node_type"] as? String == "t1")
            #expect(((capacity?["dedicated"] as? [String: Any])?["manual"] as? [String: Any])?["replicas"] as? Int == 2)
            let page = try await Console.browse(client, .get, "\(indexes)/fast", cookie: session.cookie)
            #expect(page.text.contains("dedicated, t1 × 2 replicas, 1 shards"), "\(page.text)")
            #expect(try await Self.post(client, "\(indexes)/fast", session, [("read_capacity", "OnDemand")]).status == 303)
            capacity = try await describe("fast")["read_capacity"] as? [String: Any]
            #expect(capacity?["mode"] as? String == "OnDemand")

            // A CMEK key named on the form seals the index (the id must be the project's).
            #expect(try await Self.post(client, indexes, session, [("name", "sealed"), ("cloud", "aws"), ("region", "us-east-1"),
                                                                   ("cmek_id", UUID().uuidString.lowercased())] + dense).status == 400)
            #expect(try await describe("sealed")["name"] == nil, "nothing made")
        }
    }

    @Test func anIndexIsCreatedQueriedConfiguredAndDeletedInTheConsole() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"p"}"#).json["id"] as? String)
            let indexes = "/console/projects/\(project)/indexes"
            // The API's own rules and messages, as a page; nothing created.
            let bad = try await Self.post(client, indexes, session, [("name", "Not_Valid"), ("vector_type", "dense"), ("dimension", "3"), ("metric", "cosine"), ("cloud", "aws"), ("region", "us-east-1")])
            #expect(bad.status == 400, "\(bad.text)")
            let created = try await Self.post(client, indexes, session, [
                ("name", "docs"), ("vector_type", "dense"), ("dimension", "2"), ("metric", "dotproduct"), ("cloud", "aws"), ("region", "us-east-1"),
                ("tags", "owner=\(Self.hostile)"), ("deletion_protection", "true"),
            ])
            #expect(created.status == 303 && created.headers[.location] == "\(indexes)/docs", "\(created.text)")
            let key = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"k"}"#).json["value"] as? String)
            let described = try await client.call(.get, "/indexes/docs", key: key)
            #expect((described.json["tags"] as? [String: String])?["owner"] == Self.hostile && described.json["deletion_protection"] as? String == "enabled")
            let data = "/data/\(project)/docs"
            #expect(try await client.call(.post, "\(data)/vectors/upsert", key: key, body: #"{"vectors":[{"id":"x","values":[1,0],"metadata":{"n":"<b>"}},{"id":"y","values":[0,1]}]}"#).status == 200)

            var page = try await Console.browse(client, .get, "\(indexes)/docs", cookie: session.cookie)
            Self.expectInert(page)
            #expect(page.text.contains(#"id="record-count">2<"#))
            page = try await Console.browse(client, .get, "\(indexes)/docs/query?vector=0.9%2C+0.1&top_k=1&namespace=&filter=", cookie: session.cookie)
            #expect(page.status == 200 && page.text.contains(#"<td class="id">x</td>"#) && page.text.contains("Read units used: 1"), "\(page.text)")
            #expect(page.text.contains("&lt;b&gt;") && !page.text.contains("<b>"), "metadata stays text")
            // The metrics tab counts the upsert and the query, and draws them.
            let metrics = try await Console.browse(client, .get, "\(indexes)/docs/metrics", cookie: session.cookie)
            #expect(metrics.status == 200 && metrics.text.contains("2 records now. Over the last hour: 2 requests"), "\(metrics.text)")
            let records = try await Console.browse(client, .get, "\(indexes)/docs/metrics/records", cookie: session.cookie)
            #expect(records.status == 200 && records.text.contains(">Records<") && records.text.contains(">2<"), "the axis reaches the 2 records: \(records.text)")
            let chart = try await Console.browse(client, .get, "\(indexes)/docs/metrics/requests?window=day", cookie: session.cookie)
            #expect(chart.status == 200 && chart.headers[.contentType] == "image/svg+xml" && chart.text.hasPrefix("<svg") && chart.text.hasSuffix("</svg>"))
            #expect(chart.text.contains("<circle") || chart.text.contains("<polyline"), "a point for the hour with requests")
            Console.expectStrictHeaders(chart)
            #expect(try await Console.browse(client, .get, "\(indexes)/docs/metrics/nope", cookie: session.cookie).status == 404)
            let wrongFilter = try await Console.browse(client, .get, "\(indexes)/docs/query?id=x&top_k=1&filter=%7Bnope", cookie: session.cookie)
            #expect(wrongFilter.status == 400)

            // A backup from the index's page, restored into a new index from the backups page, which follows the job.
            #expect(try await Self.post(client, "\(indexes)/docs/backups", session, [("name", Self.hostile)]).status == 400, "the API's name rule")
            #expect(try await Self.post(client, "\(indexes)/docs/backups", session, [("name", "nightly"), ("description", Self.hostile)]).status == 303)
            let backupID = try #require(Self.data(try await client.call(.get, "/backups", key: key)).first?["backup_id"] as? String)
            var backups = try await Console.browse(client, .get, "/console/projects/\(project)/backups", cookie: session.cookie)
            #expect(backups.text.contains("nightly") && !backups.text.contains("<script"))
            #expect(backups.headers[ConsolePages.refresh] == nil, "nothing to follow yet")
            #expect(try await Self.post(client, "/console/projects/\(project)/backups/\(backupID)/restore", session, [("name", "Bad Name")]).status == 400)
            #expect(try await Self.post(client, "/console/projects/\(project)/backups/\(backupID)/restore", session, [("name", "docs-copy")]).status == 303)
            backups = try await Console.browse(client, .get, "/console/projects/\(project)/backups", cookie: session.cookie)
            #expect(backups.text.contains("docs-copy"))
            let job = try #require(Self.data(try await client.call(.get, "/restore-jobs", key: key)).first?["restore_job_id"] as? String)
            #expect(try await BackupTests.waitForJob(client, job, key: key)["status"] as? String == "Completed")
            let copy = try await client.call(.post, "/data/\(project)/docs-copy/describe_index_stats", key: key, body: "{}")
            #expect(copy.json["totalVectorCount"] as? Int == 2, "\(copy.text)")
            backups = try await Console.browse(client, .get, "/console/projects/\(project)/backups", cookie: session.cookie)
            #expect(backups.headers[ConsolePages.refresh] == nil && backups.text.contains("Completed"), "the job is done: no more reloading")
            #expect(try await Self.post(client, "/console/projects/\(project)/backups/\(backupID)/delete", session).status == 303)
            #expect(Self.data(try await client.call(.get, "/backups", key: key)).isEmpty)

            // A backup schedule from the index's page: listed with its next run, paused and resumed, deleted; the API sees
            // each change, and refused forms change nothing.
            let newSchedule = "\(indexes)/docs/backup-schedules"
            #expect(try await Self.post(client, newSchedule, session, [("name", "sundays"), ("frequency", "hourly"), ("retention_days", "7")]).status == 400)
            #expect(try await Self.post(client, newSchedule, session, [("name", "sundays"), ("frequency", "weekly"), ("retention_days", "many")]).status == 400)
            #expect(try await Self.post(client, newSchedule, session, [("name", "sundays"), ("frequency", "weekly"), ("retention_days", "0")]).status == 400)
            #expect(Self.data(try await client.call(.get, "/indexes/docs/backup-schedules", key: key)).isEmpty)
            #expect(try await Self.post(client, newSchedule, session, [("name", "sundays"), ("frequency", "weekly"), ("retention_days", "14")]).status == 303)
            let schedule = try #require(Self.data(try await client.call(.get, "/indexes/docs/backup-schedules", key: key)).first)
            #expect(schedule["frequency"] as? String == "weekly" && schedule["retention_expire_after_days"] as? Int == 14 && schedule["enabled"] as? Bool == true)
            let schedulePath = "/console/projects/\(project)/backup-schedules/\(try #require(schedule["schedule_id"] as? String))"
            page = try await Console.browse(client, .get, "\(indexes)/docs", cookie: session.cookie)
            #expect(page.text.contains("<td>sundays</td><td>weekly</td><td>14 days</td><td>Running</td>"), "\(page.text)")
            #expect(try await Self.post(client, schedulePath, session, [("enabled", "false")]).status == 303)
            #expect(try await client.call(.get, "/indexes/docs/backup-schedules", key: key).json["data"].flatMap { ($0 as? [[String: Any]])?.first?["enabled"] as? Bool } == false)
            page = try await Console.browse(client, .get, "\(indexes)/docs", cookie: session.cookie)
            #expect(page.text.contains("<td>Paused</td><td>—</td>"), "paused: no next backup")
            #expect(try await Self.post(client, schedulePath, session, [("enabled", "true")]).status == 303)
            #expect(try await Console.browse(client, .get, "\(indexes)/docs", cookie: session.cookie).text.contains("<td>Running</td>"))
            #expect(try await Self.post(client, "\(schedulePath)/delete", session).status == 303)
            #expect(Self.data(try await client.call(.get, "/indexes/docs/backup-schedules", key: key)).isEmpty)

            // A private-only project's data plane refuses the console (on the main listener) as it refuses the API there:
            // the index page says so instead of counting, and offers no query tool.
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"private_endpoint_access_only":true}"#).status == 200)
            let privatePage = try await Console.browse(client, .get, "\(indexes)/docs", cookie: session.cookie)
            #expect(privatePage.status == 200 && privatePage.text.contains(#"id="data-unavailable">The project of index docs allows its data plane only through"#))
            #expect(!privatePage.text.contains(#"id="record-count""#) && !privatePage.text.contains("Run query"))
            #expect(try await Console.browse(client, .get, "\(indexes)/docs/query?top_k=1&vector=1,0", cookie: session.cookie).status == 403)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"private_endpoint_access_only":false}"#).status == 200)

            // Deletion protection refuses the delete as the API does; configured off, the named delete removes it.
            #expect(try await Self.post(client, "\(indexes)/docs/delete", session, [("confirm", "docs")]).status == 403)
            #expect(try await Self.post(client, "\(indexes)/docs", session, [("tags", "team=search")]).status == 303)
            let configured = try await client.call(.get, "/indexes/docs", key: key).json
            #expect((configured["tags"] as? [String: String]) == ["team": "search"] && configured["deletion_protection"] as? String == "disabled", "\(configured)")
            #expect(try await Self.post(client, "\(indexes)/docs/delete", session, [("confirm", "doc")]).status == 400)
            #expect(try await Self.post(client, "\(indexes)/docs/delete", session, [("confirm", "docs")]).status == 303)
            #expect(try await client.call(.get, "/indexes/docs", key: key).status == 404)

            // A hybrid index on int8 vectors: the form's fields reach the 2026-07 request.
            let hybrid = try await Self.post(client, indexes, session, [
                ("name", "hybrid"), ("vector_type", "dense"), ("dimension", "4"), ("metric", "dotproduct"), ("hybrid", "true"),
                ("vector_encoding", "int8"), ("cloud", "aws"), ("region", "us-east-1"),
            ])
            #expect(hybrid.status == 303, "\(hybrid.text)")
            let model = try await client.call(.get, "/indexes/hybrid", key: key, version: "2026-07").json
            let fields = (model["schema"] as? [String: Any])?["fields"] as? [String: Any]
            #expect(fields?.keys.sorted() == ["_sparse_values", "_values"], "\(model)")
            #expect((model["deployment"] as? [String: Any])?["vector_encoding"] as? String == "int8", "\(model)")
        }
    }

    @Test func billingAdminsSeeUsageAndManageSpendAlertsAndTheContact() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let billing = try await Self.signedIn(client, owner: owner, email: "billing@example.com", role: "OrgBillingAdmin")
            let organization = try #require(Self.data(try await client.admin(.get, "/admin/organizations", token: owner)).first?["id"] as? String)
            var page = try await Console.browse(client, .get, "/console/billing", cookie: billing.cookie)
            #expect(page.status == 200 && page.text.contains(#"id="usage-total">0.00 USD"#) && page.text.contains("2× the previous month"), "\(page.text)")
            #expect(!page.text.contains(#"href="/console/members""#), "a billing admin has no members page")

            #expect(try await Self.post(client, "/console/spend-alerts", billing, [("amount_usd", "a lot")]).status == 400)
            #expect(try await Self.post(client, "/console/spend-alerts", billing, [("amount_usd", "250"), ("recipients", "ops@example.com, cfo@example.com")]).status == 303)
            var alerts = Self.data(try await client.admin(.get, "/admin/organizations/\(organization)/spend-alerts", token: owner))
            let alert = try #require(alerts.first { $0["type"] as? String == "spend" })
            #expect(alert["amount_usd"] as? Double == 250 && (alert["recipients"] as? [String]) == ["ops@example.com", "cfo@example.com"])
            let id = try #require(alert["id"] as? String)
            #expect(try await Self.post(client, "/console/spend-alerts/\(id)", billing, [("enabled", "false")]).status == 303)
            #expect(try await Self.post(client, "/console/spend-alerts/spike", billing, [("enabled", "false")]).status == 303)
            alerts = Self.data(try await client.admin(.get, "/admin/organizations/\(organization)/spend-alerts", token: owner))
            #expect(alerts.allSatisfy { $0["enabled"] as? Bool == false }, "\(alerts)")
            #expect(try await Self.post(client, "/console/spend-alerts/\(id)/delete", billing).status == 303)
            #expect(Self.data(try await client.admin(.get, "/admin/organizations/\(organization)/spend-alerts", token: owner)).count == 1, "the spike alert stays")

            // The contact: checked whole (a bad country changes nothing), then saved; its text shown escaped.
            let contact: [(String, String)] = [
                ("name", Self.hostile), ("email", "billing@example.com"), ("line1", "1 Main St"), ("city", "Springfield"), ("postal_code", "12345"),
            ]
            #expect(try await Self.post(client, "/console/billing", billing, contact + [("country", "Narnia")]).status == 400)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)/billing", token: owner).json["billing_contact"] == nil)
            #expect(try await Self.post(client, "/console/billing", billing, contact + [("country", "US")]).status == 303)
            let saved = try await client.admin(.get, "/admin/organizations/\(organization)/billing", token: owner).json["billing_contact"] as? [String: Any]
            #expect(saved?["name"] as? String == Self.hostile)
            page = try await Console.browse(client, .get, "/console/billing", cookie: billing.cookie)
            Self.expectInert(page)
        }
    }

    @Test func theAuditLogPageShowsTheNewestEventsAndChecksTheExportsDestination() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")
            #expect(try await Self.post(client, "/console/projects", session, [("name", Self.hostile)]).status == 303)
            let page = try await Console.browse(client, .get, "/console/audit-log", cookie: session.cookie)
            #expect(page.status == 200 && page.text.contains("create project") && page.text.contains("The audit log is not exported."), "\(page.text)")
            Self.expectInert(page)
            let bad = try await Self.post(client, "/console/audit-log", session, [("bucket", "Not A Bucket")])
            #expect(bad.status == 400 && bad.text.contains("S3 bucket name"), "the API's own check: \(bad.text)")
            #expect(try await client.admin(.get, "/admin/audit-log", token: owner).json["enabled"] as? Bool == false)
        }
    }

    /// Every console route that changes state refuses a form without the session's own CSRF token, or from another
    /// site, before it touches anything (the project and its key are still there).
    @Test func everyFormNeedsItsSessionsTokenAndOrigin() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let session = try await Self.signedIn(client, owner: owner, email: "owner@example.com", role: "OrgOwner")
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"p"}"#).json["id"] as? String)
            let key = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"k"}"#)
            let keyID = try #require((key.json["key"] as? [String: Any])?["id"] as? String, "\(key.text)")
            // Other resources need not exist: their routes are decided on the organization or the project.
            let placeholder = UUID().uuidString.lowercased()
            let posts = server.buildRouter().1.entries.filter { $0.credential == .consoleSession && $0.changesState }
            #expect(posts.count >= 15, "\(posts.map(\.path))")
            for entry in posts {
                let path = entry.path.replacingOccurrences(of: ":project_id", with: project)
                    .replacingOccurrences(of: ":api_key_id", with: keyID).replacing(/:[a-z_]+/, with: placeholder)
                let other = ConsoleSession.csrfToken(secret: "pccs_another_session")
                for (token, origin) in [("", "http://\(Console.host)"), (other, "http://\(Console.host)"), (session.csrf, "https://evil.example")] {
                    let reply = try await Console.browse(client, .post, path, cookie: session.cookie, form: "csrf_token=\(token)&name=x&confirm=p", origin: origin)
                    #expect(reply.status == 403, "\(entry.path) with token \(token.prefix(6)) from \(origin): \(reply.status)")
                    Console.expectStrictHeaders(reply)
                }
            }
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: owner).json["name"] as? String == "p")
            #expect(try await client.admin(.get, "/admin/api-keys/\(keyID)", token: owner).status == 200)
            #expect(try await Console.browse(client, .get, "/console", cookie: session.cookie).status == 200, "still signed in")
        }
    }

    /// Every field a person fills in has a label: a `<label for>` naming its id, or a label around it (check boxes).
    @Test func everyFieldHasALabel() {
        var fields = 0
        for (name, text) in ConsoleTemplates.all {
            for field in text.matches(of: /<(input|select|textarea)\b([^>]*)>/) where !field.2.contains(#"type="hidden""#) {
                fields += 1
                if let id = field.2.firstMatch(of: /id="([^"]+)"/)?.1 {
                    #expect(text.contains(#"<label for="\#(id)""#), "\(name): no label for \(id)")
                } else {
                    let before = text[..<field.range.lowerBound].suffix(40)
                    #expect(before.hasSuffix(#"<label class="check">"#), "\(name): an unlabelled field \(field.0)")
                }
            }
        }
        #expect(fields > 50, "the templates' fields were found: \(fields)")
    }

    /// Every text colour the stylesheet puts on a background reads at WCAG AA's 4.5:1 or better (the colours are the
    /// stylesheet's own, so a lighter one fails here); the focus ring is drawn in a colour of its own.
    @Test func textColoursContrastWithTheirBackgrounds() throws {
        let css = ConsoleTemplates.stylesheet
        var colours = ["white": "#ffffff"]
        for match in css.matches(of: /--([a-z]+): (#[0-9a-f]{6})/) { colours[String(match.1)] = String(match.2) }
        func luminance(_ hex: String) throws -> Double {
            let value = try #require(Int(hex.dropFirst(), radix: 16), "\(hex)")
            let channels = [value >> 16, (value >> 8) & 0xFF, value & 0xFF].map { channel -> Double in
                let c = Double(channel) / 255
                return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
        }
        // (text, background) as the stylesheet pairs them: body text and muted text on sections and the page, the
        // header and buttons (white on the accent and on danger), the header's button, error text.
        let pairs = [("ink", "paper"), ("ink", "wash"), ("muted", "paper"), ("muted", "wash"), ("white", "accent"), ("white", "danger"),
                     ("accent", "white"), ("danger", "paper")]
        for (text, background) in pairs {
            let (a, b) = (try luminance(try #require(colours[text])), try luminance(try #require(colours[background])))
            let ratio = (max(a, b) + 0.05) / (min(a, b) + 0.05)
            #expect(ratio >= 4.5, "\(text) on \(background): \(ratio)")
        }
        #expect(css.contains(":focus-visible { outline: 3px solid"), "a visible focus ring")
    }

    /// The templates escape everything they print, and every form that changes something carries the CSRF token.
    @Test func templatesEscapeAndEveryChangingFormCarriesTheToken() {
        for (name, text) in ConsoleTemplates.all {
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(name) prints a value unescaped")
            #expect(!text.contains("<script") && !text.contains(" style=") && text.firstMatch(of: /\son[a-z]+=/) == nil, "\(name): no script, inline style or handler")
            for form in text.matches(of: /<form method="post" action="([^"]+)"[^>]*>(.{0,40})/) {
                let open = ["/console/sign-in", "/console/accept-invite"].contains(String(form.1))
                #expect(open || form.2.hasPrefix("{{> csrf}}"), "\(name): the form to \(form.1) has no CSRF token")
            }
        }
    }
}
