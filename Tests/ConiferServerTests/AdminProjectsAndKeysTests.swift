import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct AdminProjectsAndKeysTests {
    @Test func projectAndKeyLifecycle() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let created = try await client.admin(.post, "/admin/projects", token: token, body: #"{"name":"analytics","max_pods":2,"force_encryption_with_cmek":false}"#)
            #expect(created.status == 200)
            let project = try #require(created.json["id"] as? String)
            #expect(created.json["organization_id"] as? String == (try #require(server.bootstrap)).organizationID.lowercasedString)
            #expect(created.json["max_pods"] as? Int == 2)
            let listed = try await client.admin(.get, "/admin/projects", token: token)
            #expect((listed.json["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == ["analytics", "default"])
            let renamed = try await client.admin(.patch, "/admin/projects/\(project)", token: token, body: #"{"name":"analytics-2"}"#)
            #expect(renamed.json["name"] as? String == "analytics-2")

            let key = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: token, body: #"{"name":"ci","roles":["ControlPlaneViewer","DataPlaneEditor"]}"#)
            #expect(key.status == 201)
            let value = try #require(key.json["value"] as? String)
            let keyID = try #require((key.json["key"] as? [String: Any])?["id"] as? String)
            #expect((key.json["key"] as? [String: Any])?["roles"] as? [String] == ["ControlPlaneViewer", "DataPlaneEditor"])
            // The key works in its own project only, with its roles.
            #expect(try await client.call(.get, "/indexes", key: value).status == 200)
            #expect(try await client.createIndex("nope", key: value).status == 403)

            let described = try await client.admin(.get, "/admin/api-keys/\(keyID)", token: token)
            #expect(described.json["project_id"] as? String == project)
            #expect(described.text.contains(value) == false)
            let updated = try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: token, body: #"{"roles":["ProjectEditor"]}"#)
            #expect(updated.json["roles"] as? [String] == ["ProjectEditor"])
            #expect(try await client.createIndex("now-allowed", key: value).status == 201)

            // A project with an index cannot be deleted; its key goes with it once it is empty.
            #expect(try await client.admin(.delete, "/admin/projects/\(project)", token: token).status == 412)
            #expect(try await client.call(.delete, "/indexes/now-allowed", key: value).status == 202)
            #expect(try await client.admin(.delete, "/admin/api-keys/\(keyID)", token: token).status == 202)
            #expect(try await client.call(.get, "/indexes", key: value).status == 401)
            #expect(try await client.admin(.delete, "/admin/projects/\(project)", token: token).status == 202)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: token).status == 404)
        }
    }

    @Test func invalidAdminInputsAreRejected() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let cases: [(String, String, Int)] = [
                ("/admin/projects", #"{"name":""}"#, 400),
                ("/admin/projects", #"{"name":"\#(String(repeating: "p", count: 513))"}"#, 400),
                ("/admin/projects", #"{"max_pods":1}"#, 422),
                ("/admin/projects", #"{"name":"x","max_pods":-1}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["Superuser"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["ProjectEditor","DataPlaneViewer"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":["DataPlaneViewer","DataPlaneEditor"]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"k","roles":[]}"#, 400),
                ("/admin/projects/\(project)/api-keys", #"{"name":"\#(String(repeating: "k", count: 81))"}"#, 400),
                ("/admin/projects/\(UUID().uuidString.lowercased())/api-keys", #"{"name":"k"}"#, 404),
                ("/admin/projects/not-a-uuid/api-keys", #"{"name":"k"}"#, 404),
            ]
            for (path, body, status) in cases {
                let reply = try await client.admin(.post, path, token: token, body: body)
                #expect(reply.status == status, "\(path) \(body.prefix(80)) -> \(reply.text)")
            }
            let keys = try await client.admin(.get, "/admin/projects/\(project)/api-keys", token: token)
            #expect((keys.json["data"] as? [Any])?.count == 1)
        }
    }

    @Test func limitedServiceAccountsSeeOnlyWhatTheirRolesAllow() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let memberToken = try await client.serviceAccount("member", role: .member, owner: owner).token
            let defaultProject = try #require(server.bootstrap).projectID.lowercasedString
            // A member sees no project it has no role in, and gets the same 404 as for a missing one.
            let listed = try await client.admin(.get, "/admin/projects", token: memberToken)
            #expect((listed.json["data"] as? [Any])?.isEmpty == true)
            let hidden = try await client.admin(.get, "/admin/projects/\(defaultProject)", token: memberToken)
            let missing = try await client.admin(.get, "/admin/projects/\(UUID().uuidString.lowercased())", token: memberToken)
            #expect(hidden.status == 404)
            #expect(missing.status == 404)
            #expect(try await client.admin(.post, "/admin/projects/\(defaultProject)/api-keys", token: memberToken, body: #"{"name":"x"}"#).status == 404)
            // It may create projects, and owns those it creates.
            let own = try await client.admin(.post, "/admin/projects", token: memberToken, body: #"{"name":"mine"}"#)
            #expect(own.status == 200)
            let ownID = try #require(own.json["id"] as? String)
            #expect(try await client.admin(.post, "/admin/projects/\(ownID)/api-keys", token: memberToken, body: #"{"name":"k"}"#).status == 201)
            // Organization-level management is denied with 403.
            #expect(try await client.admin(.get, "/admin/service-accounts", token: memberToken).status == 403)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: memberToken, body: #"{"name":"x"}"#).status == 403)
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            #expect(try await client.admin(.patch, "/admin/organizations/\(organization)", token: memberToken, body: #"{"name":"mine"}"#).status == 403)
            let orgName = try await client.admin(.get, "/admin/organizations/\(organization)", token: owner)
            #expect(orgName.json["name"] as? String == "default")
        }
    }

    @Test func bearerTokensWorkOnTheControlPlaneWithAProject() async throws {
        try await TestServer.run { server, client in
            let token = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let listed = try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)"), ("X-Project-Id", project)])
            #expect(listed.status == 200)
            let noProject = try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)")])
            #expect(noProject.status == 400)
            let otherProject = try await client.call(
                .get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(token)"), ("X-Project-Id", UUID().uuidString)]
            )
            #expect(otherProject.status == 403)
        }
    }
}
