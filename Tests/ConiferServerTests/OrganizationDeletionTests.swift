@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Deleting an organization deletes everything under it at once: projects, indexes (data keys destroyed,
/// files left for the purge), API keys, customer-managed keys, service accounts and invites — unless an index
/// under it has deletion protection, which refuses the whole deletion and changes nothing.
@Suite struct OrganizationDeletionTests {
    @Test func deletingAnOrganizationDeletesEverythingUnderItAndNothingElse() async throws {
        try await TestServer.run { server, client in
            let (organization, ownerAccount) = try await server.sqliteCatalog.createOrganization(name: "leaving", plan: .enterprise)
            let owner = try await client.token(clientID: ownerAccount.account.clientID, secret: ownerAccount.clientSecret)
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"work"}"#).json["id"] as? String)
            let empty = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"empty"}"#).json["id"] as? String)
            let cmek = try await client.admin(
                .post, "/admin/projects/\(empty)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"arn:aws:kms:us-east-1:123456789012:key/k-1","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#
            )
            #expect(cmek.status == 201)
            let apiKey = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#).json["value"] as? String)
            let robot = try await client.serviceAccount("robot", role: .member, owner: owner)
            #expect(try await client.createIndex("records", key: apiKey).status == 201)
            #expect(try await client.createIndex("guarded", key: apiKey, extra: #","deletion_protection":"enabled""#).status == 201)
            let host = "/data/\(project)/records"
            #expect(try await client.call(.post, "\(host)/vectors/upsert", key: apiKey, body: #"{"vectors":[{"id":"a","values":[1,2,3]}]}"#).status == 200)
            let indexes = try await server.catalog.allIndexes().filter { $0.projectID.lowercasedString == project }
            let indexIDs = indexes.map(\.id)
            let written = try #require(indexes.first { $0.name == "records" }).id.lowercasedString
            #expect(indexIDs.count == 2)
            let indexRoot = server.configuration.dataDirectory.appendingPathComponent("indexes")

            // Deletion protection on one index refuses the whole deletion; nothing changes.
            let path = "/admin/organizations/\(organization.id.lowercasedString)"
            let refused = try await client.admin(.delete, path, token: owner)
            #expect(refused.status == 412 && refused.message?.contains("guarded") == true, "\(refused.text)")
            #expect(try await client.call(.get, "/indexes", key: apiKey).status == 200)
            #expect(try await client.call(.get, "\(host)/vectors/fetch?ids=a", key: apiKey).status == 200)

            #expect([200, 202].contains(try await client.call(.patch, "/indexes/guarded", key: apiKey, body: #"{"deletion_protection":"disabled"}"#).status))
            #expect(try await client.admin(.delete, path, token: owner).status == 202)

            // Everything under it is gone for everyone at once.
            #expect(try await client.call(.get, "/indexes", key: apiKey).status == 401)
            #expect(try await client.call(.get, "\(host)/vectors/fetch?ids=a", key: apiKey).status == 401)
            #expect(try await client.admin(.get, "/admin/projects", token: owner).status == 401)
            #expect(try await client.admin(.get, "/admin/projects", token: robot.token).status == 401)
            #expect(try await server.catalog.allIndexes().filter { indexIDs.contains($0.id) }.isEmpty)
            #expect(try await server.catalog.cmekKey(project: try #require(UUID(uuidString: empty))) == nil)
            // The written index's data key is destroyed and its files wait for the purge, unreadable.
            #expect(!FileManager.default.fileExists(atPath: indexRoot.appendingPathComponent(written).path))
            let deleted = indexRoot.appendingPathComponent("deleted").appendingPathComponent(written)
            #expect(FileManager.default.fileExists(atPath: deleted.appendingPathComponent("wal").path))
            #expect(!FileManager.default.fileExists(atPath: deleted.appendingPathComponent("key").path))

            // The bootstrap organization is untouched.
            #expect(try await client.call(.get, "/indexes").status == 200)
            #expect(try await client.admin(.get, "/admin/projects", token: try await client.token()).status == 200)
        }
    }
}
