import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct RoleBindingTests {
    @Test func connectingAServiceAccountToAProjectTakesEffectAtOnce() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.lowercasedString
            let created = try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"worker"}"#)
            let account = try #require(created.json["service_account"] as? [String: Any])
            let accountID = try #require(account["id"] as? String)
            let worker = try await client.token(clientID: try #require(account["client_id"] as? String), secret: try #require(created.json["client_secret"] as? String))
            let asWorker = [("Authorization", "Bearer \(worker)"), ("X-Project-Id", project)]
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 404)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 403)

            let binding = try await client.admin(
                .post, "/admin/role-bindings", token: owner,
                body: #"{"principal_type":"service_account","principal_id":"\#(accountID)","resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}"#
            )
            #expect(binding.status == 201)
            let bindingID = try #require(binding.json["id"] as? String)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 200)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 200)
            // A member may use the project but not manage its keys or members.
            #expect(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: worker, body: #"{"name":"k"}"#).status == 403)
            let escalate = try await client.admin(
                .post, "/admin/role-bindings", token: worker,
                body: #"{"principal_type":"service_account","principal_id":"\#(accountID)","resource_type":"project","resource_id":"\#(project)","role":"ProjectOwner"}"#
            )
            #expect(escalate.status == 403)
            let listed = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(accountID)", token: owner)
            #expect((listed.json["data"] as? [[String: Any]])?.compactMap { $0["role"] as? String }.sorted() == ["OrgMember", "ProjectMember"])

            #expect(try await client.admin(.delete, "/admin/role-bindings/\(bindingID)", token: owner).status == 202)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: worker).status == 404)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: asWorker).status == 403)
        }
    }

    @Test func theLastOwnerCannotBeRemovedAndManagersCannotMintOwners() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let ownerID = try #require(server.bootstrapServiceAccount).account.id.lowercasedString
            let bindings = try await client.admin(.get, "/admin/role-bindings?principal_type=service_account&principal_id=\(ownerID)&resource_type=organization", token: owner)
            let ownerBinding = try #require((bindings.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await client.admin(.delete, "/admin/role-bindings/\(ownerBinding)", token: owner).status == 412)
            #expect(try await client.admin(.delete, "/admin/service-accounts/\(ownerID)", token: owner).status == 412)

            let manager = try await client.serviceAccount("manager", role: .manager, owner: owner)
            let managerToken = manager.token
            let mint = try await client.admin(
                .post, "/admin/service-accounts", token: managerToken,
                body: #"{"name":"evil","role_bindings":[{"resource_type":"organization","role":"OrgOwner"}]}"#
            )
            #expect(mint.status == 403)
            let promote = try await client.admin(
                .post, "/admin/role-bindings", token: managerToken,
                body: #"{"principal_type":"service_account","principal_id":"\#(manager.id)","resource_type":"organization","role":"OrgOwner"}"#
            )
            #expect(promote.status == 403)
            let accounts = try await client.admin(.get, "/admin/service-accounts", token: owner)
            #expect((accounts.json["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.contains("evil") == false)
        }
    }
}
