@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// The rules of customer-managed keys through the Admin API: one immutable key per project, set before the
/// first index and deleted only after the last, Enterprise only, forced CMEK refusing indexes until a key is
/// set. KMS itself (keys made, revoked and restored) is exercised in conformance/test_cmek.py against moto.
@Suite struct CMEKKeyTests {
    static let arn = "arn:aws:kms:us-east-1:123456789012:key/0b7c6f1e-1111-4222-8333-944445555666"
    static let role = "arn:aws:iam::123456789012:role/conifer-cmek"

    @Test func oneImmutableKeyPerProjectSetBeforeIndexesAndShownWithoutItsExternalID() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"cmek"}"#).json["id"] as? String)
            let keys = "/admin/projects/\(project)/cmek-keys"
            #expect(try await client.admin(.get, keys, token: owner).json["data"] as? [Any] != nil)
            #expect((try await client.admin(.get, keys, token: owner).json["data"] as? [Any])?.isEmpty == true)

            // Bad input: 400 (or 422 for a missing field), nothing stored.
            for body in [
                #"{"name":"k","key_arn":"not-an-arn"}"#,
                #"{"name":"k","key_arn":"arn:aws:s3:::bucket"}"#,
                #"{"name":"k","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123:role/x"}"#,
                #"{"name":"k","key_arn":"\#(Self.arn)","external_id":"x"}"#,
                #"{"name":"","key_arn":"\#(Self.arn)"}"#,
                #"{"name":"k","key_arn":"\#(Self.arn)","colour":"red"}"#,
                #"{"name":"k"}"#,
                // Without the project's role the server would use its own AWS access on a key the tenant names.
                #"{"name":"k","key_arn":"\#(Self.arn)"}"#,
            ] {
                let reply = try await client.admin(.post, keys, token: owner, body: body)
                #expect([400, 422].contains(reply.status), "\(body): \(reply.text)")
            }
            #expect((try await client.admin(.get, keys, token: owner).json["data"] as? [Any])?.isEmpty == true)

            let created = try await client.admin(
                .post, keys, token: owner, body: #"{"name":"prod","key_arn":"\#(Self.arn)","role_arn":"\#(Self.role)","external_id":"ext-42-secret"}"#
            )
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(!created.text.contains("ext-42-secret"))
            let listed = try #require((try await client.admin(.get, keys, token: owner).json["data"] as? [[String: Any]])?.first)
            #expect(listed["id"] as? String == id && listed["name"] as? String == "prod")
            #expect(listed["key_arn"] as? String == Self.arn && listed["role_arn"] as? String == Self.role && listed["created_at"] is String)
            #expect(listed["external_id"] == nil)
            // The external id is sealed in the catalog, and read back whole for KMS.
            #expect(try await server.catalog.cmekKey(project: try #require(UUID(uuidString: project)))?.externalID == "ext-42-secret")

            // One per project, and it cannot be changed.
            let second = try await client.admin(.post, keys, token: owner, body: #"{"name":"other","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#)
            #expect(second.status == 409, "\(second.text)")
            #expect(try await client.admin(.patch, "\(keys)/\(id)", token: owner, body: #"{"name":"renamed"}"#).status == 405)
            #expect(try await client.admin(.delete, "\(keys)/\(UUID().lowercasedString)", token: owner).status == 404)

            // Deleted while the project has no index; then a new one may be set.
            #expect(try await client.admin(.delete, "\(keys)/\(id)", token: owner).status == 202)
            #expect((try await client.admin(.get, keys, token: owner).json["data"] as? [Any])?.isEmpty == true)

            // A project that already has indexes does not get a key (its indexes would not be under it).
            let keyReply = try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"editor"}"#)
            let apiKey = try #require(keyReply.json["value"] as? String)
            #expect(try await client.createIndex("plain", key: apiKey).status == 201)
            let late = try await client.admin(.post, keys, token: owner, body: #"{"name":"late","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#)
            #expect(late.status == 412, "\(late.text)")
            let described = try await client.call(.get, "/indexes/plain", key: apiKey, version: "2026-07")
            #expect(described.status == 200 && described.json["cmek_id"] == nil)
        }
    }

    @Test func forcedCMEKRefusesIndexesUntilAKeyIsSetAndAKeyKMSRefusesLeavesNoIndex() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(
                try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"forced","force_encryption_with_cmek":true}"#).json["id"] as? String
            )
            let apiKey = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#).json["value"] as? String)
            let refused = try await client.createIndex("first", key: apiKey)
            #expect(refused.status == 412, "\(refused.text)")
            #expect(refused.message?.contains("cmek-keys") == true)
            #expect((try await client.call(.get, "/indexes", key: apiKey).json["indexes"] as? [Any])?.isEmpty == true)

            // With a key set, creating an index asks KMS for its data key at once. This server has no KMS
            // (no AWS credentials, or a key that does not exist): the creation is refused with the reason and
            // leaves no index, rather than an index whose first write fails.
            let cmek = try await client.admin(
                .post, "/admin/projects/\(project)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#
            )
            #expect(cmek.status == 201)
            let unreachable = try await client.createIndex("first", key: apiKey)
            #expect([412, 503].contains(unreachable.status), "\(unreachable.text)")
            #expect(unreachable.message?.contains(Self.arn) == true, "\(unreachable.text)")
            #expect((try await client.call(.get, "/indexes", key: apiKey).json["indexes"] as? [Any])?.isEmpty == true)
            // A cmek_id that is not the project's is refused (API 2026-07).
            let wrong = try await client.call(
                .post, "/indexes", key: apiKey, version: "2026-07",
                body: #"{"name":"named","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"}}},"cmek_id":"\#(UUID().lowercasedString)"}"#
            )
            #expect(wrong.status == 400, "\(wrong.text)")
        }
    }

    @Test func customerManagedKeysNeedTheEnterprisePlan() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"p"}"#).json["id"] as? String)
            _ = try await server.admin.setPlan(.standard, organization: nil)
            let reply = try await client.admin(.post, "/admin/projects/\(project)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#)
            #expect(reply.status == 402, "\(reply.text)")
            #expect((try await client.admin(.get, "/admin/projects/\(project)/cmek-keys", token: owner).json["data"] as? [Any])?.isEmpty == true)
        }
    }

    /// A key without a role is refused (400 naming role_arn) unless the server's operator lists it; one listed is
    /// accepted, and a key stored earlier without a role and not listed stops its indexes (412), naming why.
    @Test func aKeyWithoutARoleNeedsTheOperatorsLeave() async throws {
        try await TestServer.run(configure: { $0.cmekServerCredentialKeys = [Self.arn] }) { server, client in
            let owner = try await client.token()
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"own"}"#).json["id"] as? String)
            let other = "arn:aws:kms:us-east-1:123456789012:key/99999999-1111-2222-3333-444444444444"
            let refused = try await client.admin(.post, "/admin/projects/\(project)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"\#(other)"}"#)
            #expect(refused.status == 400 && refused.message?.contains("role_arn is required") == true, "\(refused.text)")
            let allowed = try await client.admin(.post, "/admin/projects/\(project)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"\#(Self.arn)"}"#)
            #expect(allowed.status == 201, "\(allowed.text)")
        }
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"old"}"#).json["id"] as? String)
            // As a key stored before roles were required holds it.
            _ = try await server.sqliteCatalog.database.write { db in
                try db.execute(
                    sql: "INSERT INTO cmek_key (id, project_id, name, role_arn, key_arn, external_id, created_at) VALUES (?, ?, 'legacy', NULL, ?, NULL, ?)",
                    arguments: [UUID().lowercasedString, project, Self.arn, Date()]
                )
            }
            let key = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#).json["value"] as? String)
            let index = try await client.createIndex("sealed", key: key)
            #expect(index.status == 412 && index.message?.contains("no role_arn") == true, "\(index.text)")
        }
    }
}
