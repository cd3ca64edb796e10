import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct PlanTests {
    /// Serverless indexes per project by plan (Starter 5): the next creation is refused with 403
    /// QUOTA_EXCEEDED naming the quota, and deleting one makes room again.
    @Test func indexesPerProjectFollowThePlansQuota() async throws {
        try await TestServer.run { server, client in
            _ = try await server.admin.setPlan(.starter, organization: nil)
            for i in 0..<5 { #expect(try await client.createIndex("quota-\(i)").status == 201) }
            let refused = try await client.createIndex("quota-5")
            #expect(refused.status == 403 && refused.errorCode == "QUOTA_EXCEEDED" && refused.message?.contains("5 serverless indexes") == true, "\(refused.text)")
            #expect(try await client.call(.get, "/indexes/quota-5").status == 404)
            #expect(try await client.call(.delete, "/indexes/quota-0").status == 202)
            #expect(try await client.createIndex("quota-5").status == 201)
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.createIndex("quota-6").status == 201, "Standard allows 20")
        }
    }

    /// Pod-based indexes take pods from their project's `max_pods` (none on Starter): a creation or a scale-up
    /// past it is refused with 403 QUOTA_EXCEEDED and changes nothing; raising `max_pods` makes room; pod
    /// indexes do not count against the serverless quota.
    @Test func podIndexesStayWithinTheProjectsMaxPods() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"pods","max_pods":2}"#)
            let project = try #require(created.json["id"] as? String)
            let key = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"k"}"#).json["value"] as? String)
            func pod(_ name: String, replicas: Int) async throws -> Reply {
                try await client.call(
                    .post, "/indexes", key: key,
                    body: #"{"name":"\#(name)","dimension":4,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1","replicas":\#(replicas)}}}"#
                )
            }
            func scale(_ name: String, replicas: Int) async throws -> Reply {
                try await client.call(.patch, "/indexes/\(name)", key: key, body: #"{"spec":{"pod":{"replicas":\#(replicas)}}}"#)
            }
            #expect(try await pod("one", replicas: 1).status == 201)
            let refused = try await pod("two", replicas: 2)
            #expect(refused.status == 403 && refused.errorCode == "QUOTA_EXCEEDED" && refused.message?.contains("max_pods is 2") == true, "\(refused.text)")
            #expect(try await client.call(.get, "/indexes/two", key: key).status == 404)
            #expect(try await scale("one", replicas: 2).status == 202)
            #expect(try await scale("one", replicas: 3).status == 403)
            let described = try await client.call(.get, "/indexes/one", key: key)
            #expect(((described.json["spec"] as? [String: Any])?["pod"] as? [String: Any])?["replicas"] as? Int == 2)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"max_pods":3}"#).status == 200)
            #expect(try await scale("one", replicas: 3).status == 202)
            #expect(try await client.createIndex("serverless", key: key).status == 201)

            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"max_pods":10}"#).status == 200)
            let starter = try await pod("three", replicas: 1)
            #expect(starter.status == 403 && starter.message?.contains("Starter plan has no pod-based indexes") == true, "\(starter.text)")
        }
    }

    @Test func plansGateKeyRolesAndServiceAccounts() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["plan"] as? String == "Enterprise")

            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["plan"] as? String == "Free")
            let viewer = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"v","roles":["DataPlaneViewer"]}"#)
            #expect(viewer.status == 402)
            let editor = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#)
            #expect(editor.status == 201)
            let keyID = try #require((editor.json["key"] as? [String: Any])?["id"] as? String)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"roles":["ProjectViewer"]}"#).status == 402)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"name":"renamed"}"#).status == 200)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 402)

            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.admin(.patch, "/admin/api-keys/\(keyID)", token: owner, body: #"{"roles":["ProjectViewer"]}"#).status == 200)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 402)
            _ = try await server.admin.setPlan(.enterprise, organization: nil)
            #expect(try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"robot"}"#).status == 201)
        }
    }
}
