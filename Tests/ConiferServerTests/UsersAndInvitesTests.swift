import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct UsersAndInvitesTests {
    @Test func inviteAcceptPasswordTokenAndLeave() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let invite = try await client.admin(
                .post, "/admin/invites", token: owner,
                body: #"{"email":"Ada@Example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"},{"resource_type":"project","resource_id":"\#(project)","role":"ProjectMember"}]}"#
            )
            #expect(invite.status == 201)
            #expect(invite.json["email"] as? String == "ada@example.com")
            #expect(invite.json["status"] as? String == "pending")
            let inviteID = try #require(invite.json["id"] as? String)
            let firstToken = try #require(invite.json["token"] as? String)
            // The token is shown once: listings do not carry it.
            #expect(try await client.admin(.get, "/admin/invites", token: owner).text.contains(firstToken) == false)
            let resent = try await client.admin(.post, "/admin/invites/\(inviteID)/resend", token: owner)
            let token = try #require(resent.json["token"] as? String)
            let stale = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(firstToken)","password":"correct horse battery"}"#)
            #expect(stale.status == 404)
            let weak = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"short"}"#)
            #expect(weak.status == 400)

            let accepted = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"correct horse battery","name":"Ada"}"#)
            #expect(accepted.status == 200)
            let userID = try #require(accepted.json["id"] as? String)
            let again = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"correct horse battery"}"#)
            #expect(again.status == 412)
            #expect(try await client.admin(.get, "/admin/invites/\(inviteID)", token: owner).json["status"] as? String == "processed")

            // The password grant yields a bearer token for the Admin API and the project.
            let wrong = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"wrong horse battery"}"#)
            #expect(wrong.status == 401)
            let login = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ada@example.com","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            let ada = try #require(login.json["access_token"] as? String)
            #expect(try await client.admin(.get, "/admin/projects/\(project)", token: ada).status == 200)
            #expect(try await client.call(.get, "/indexes", key: nil, headers: [("Authorization", "Bearer \(ada)"), ("X-Project-Id", project)]).status == 200)
            #expect(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: ada, body: #"{"name":"k"}"#).status == 403)
            let users = try await client.admin(.get, "/admin/users", token: owner)
            #expect((users.json["data"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["ada@example.com"])

            // Leaving takes effect on the next request.
            #expect(try await client.admin(.delete, "/admin/users/\(userID)", token: ada).status == 202)
            #expect(try await client.admin(.get, "/admin/projects", token: ada).status == 401)
            #expect(try await client.admin(.get, "/admin/users/\(userID)", token: owner).status == 404)
        }
        let catalog = try Data(contentsOf: directory.appendingPathComponent("catalog.sqlite"))
        #expect(catalog.range(of: Data("correct horse battery".utf8)) == nil)
    }

    @Test func invitesCannotGrantMoreThanTheInviterHas() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let token = try await client.serviceAccount("manager", role: .manager, owner: owner).token
            let ownerInvite = try await client.admin(
                .post, "/admin/invites", token: token, body: #"{"email":"x@example.com","role_bindings":[{"resource_type":"organization","role":"OrgOwner"}]}"#
            )
            #expect(ownerInvite.status == 403)
            let noOrgRole = try await client.admin(.post, "/admin/invites", token: owner, body: #"{"email":"y@example.com","role_bindings":[]}"#)
            #expect(noOrgRole.status == 400)
            let badEmail = try await client.admin(
                .post, "/admin/invites", token: owner, body: #"{"email":"not-an-email","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            )
            #expect(badEmail.status == 400)
        }
    }
}
