import ConiferCore
import Foundation
import Testing
@testable import ConiferServer

/// Every way an index comes to exist (a create, a restore from a backup, a create from a collection) goes through
/// the one creation rule set: what a create refuses, each other path refuses too, and leaves nothing behind.
@Suite struct IndexCreationPathTests {
    enum Path: String, CaseIterable, Sendable {
        case create, restore, collection
    }

    static let arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444"

    @Test(arguments: Path.allCases) func eachPathRefusesWhatCreateRefuses(_ path: Path) async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            _ = try await server.admin.setPlan(.enterprise, organization: nil)
            let project = try #require(
                try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"ruled","max_pods":4}"#).json["id"] as? String
            )
            let key = try #require(try await client.admin(.post, "/admin/projects/\(project)/api-keys", token: owner, body: #"{"name":"e"}"#).json["value"] as? String)
            let pods = #""spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1","pods":4}}"#
            #expect(try await client.call(.post, "/indexes", key: key, body: #"{"name":"source","dimension":3,"metric":"cosine",\#(pods)}"#).status == 201)
            let backup = try #require(try await client.call(.post, "/indexes/source/backups", key: key, body: "{}").json["backup_id"] as? String)
            #expect(try await client.call(.post, "/collections", key: key, body: #"{"name":"snap","source":"source"}"#).status == 201)

            /// Asks for index `name` by the path under test; `extra` adds fields to the request body.
            func make(_ name: String, _ extra: String = "") async throws -> Reply {
                switch path {
                case .create:
                    try await client.call(.post, "/indexes", key: key, body: #"{"name":"\#(name)","dimension":3,"metric":"cosine",\#(pods)\#(extra)}"#)
                case .restore:
                    try await client.call(.post, "/backups/\(backup)/create-index", key: key, body: #"{"name":"\#(name)"\#(extra)}"#)
                case .collection:
                    try await client.call(
                        .post, "/indexes", key: key,
                        body: #"{"name":"\#(name)","metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","pods":4,"source_collection":"snap"}}\#(extra)}"#
                    )
                }
            }
            /// The project's index names and restore jobs: what a refused request must not have changed.
            func state() async throws -> [String] {
                let indexes = (try await client.call(.get, "/indexes", key: key).json["indexes"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                let jobs = (try await client.call(.get, "/restore-jobs", key: key).json["data"] as? [Any] ?? []).count
                return indexes.sorted() + ["jobs: \(jobs)"]
            }
            let before = try await state()
            #expect(before == ["source", "jobs: 0"])

            // The pod quota: the source takes all four pods.
            let overPods = try await make("more")
            #expect(overPods.status == 403 && overPods.message?.contains("pod quota") == true, "\(path): \(overPods.text)")
            // A taken name and bad tags.
            #expect(try await make("source").status == 409, "\(path)")
            let badTags = try await make("tagged", #","tags":{"bad key!":"v"}"#)
            #expect(badTags.status == 400, "\(path): \(badTags.text)")
            #expect(try await state() == before, "\(path): a refused request created nothing")

            // A project that forces CMEK refuses every new index until it has a key...
            #expect(try await client.call(.delete, "/indexes/source", key: key).status == 202)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"force_encryption_with_cmek":true}"#).status == 200)
            let forced = try await make("forced")
            #expect(forced.status == 412 && forced.message?.contains("cmek-keys") == true, "\(path): \(forced.text)")
            // ...and with one, the new index is under it: its data key comes from KMS at once, and a key this
            // server cannot use (no KMS here) refuses the creation and leaves nothing.
            #expect(try await client.admin(.post, "/admin/projects/\(project)/cmek-keys", token: owner, body: #"{"name":"k","key_arn":"\#(Self.arn)","role_arn":"arn:aws:iam::123456789012:role/cmek"}"#).status == 201)
            let underKey = try await make("sealed")
            #expect([412, 503].contains(underKey.status) && underKey.message?.contains(Self.arn) == true, "\(path): \(underKey.text)")
            #expect(try await state() == ["jobs: 0"], "\(path)")
        }
    }
}
