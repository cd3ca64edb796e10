import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct PlanTests {
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
