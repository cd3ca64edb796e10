@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Collections: a named copy of a pod-based index that new indexes start from (`source_collection`), with the
/// answers Pinecone gives for names, sources, dimensions and plans.
@Suite struct CollectionTests {
    static let podSpec = #""spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1"}}"#

    @Test func aCollectionSeedsNewIndexesWithTheRecordsItWasTakenWith() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let data = "/data/\(project)"
            #expect(try await client.call(.post, "/indexes", body: #"{"name":"pods","dimension":3,"metric":"euclidean",\#(Self.podSpec)}"#).status == 201)
            #expect(try await client.call(.post, "\(data)/pods/vectors/upsert", body: #"{"vectors":[\#(BackupTests.vectors)],"namespace":"a"}"#).status == 200)
            #expect(try await client.createIndex("flat").status == 201)

            let made = try await client.call(.post, "/collections", body: #"{"name":"snap","source":"pods"}"#)
            #expect(made.status == 201, "\(made.text)")
            #expect(made.json["name"] as? String == "snap" && made.json["status"] as? String == "Ready" && made.json["environment"] as? String == "us-east1-gcp")
            #expect(made.json["dimension"] as? Int == 3 && made.json["vector_count"] as? Int == 40 && (made.json["size"] as? Int ?? 0) > 0)
            // Writes after the collection are not in it.
            #expect(try await client.call(.post, "\(data)/pods/vectors/upsert", body: #"{"vectors":[{"id":"late","values":[1,2,3]}],"namespace":"a"}"#).status == 200)

            #expect(try await client.call(.post, "/collections", body: #"{"name":"snap","source":"pods"}"#).status == 409)
            #expect(try await client.call(.post, "/collections", body: #"{"name":"Snap!","source":"pods"}"#).status == 400)
            #expect(try await client.call(.post, "/collections", body: #"{"name":"other","source":"missing"}"#).status == 404)
            let serverless = try await client.call(.post, "/collections", body: #"{"name":"other","source":"flat"}"#)
            #expect(serverless.status == 400 && serverless.message?.contains("pod-based") == true, "\(serverless.text)")
            #expect((try await client.call(.get, "/collections").json["collections"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["snap"])
            #expect(try await client.call(.get, "/collections/snap").json["vector_count"] as? Int == 40)
            #expect(try await client.call(.get, "/collections/none").status == 404)
            #expect((try await client.call(.get, "/backups").json["data"] as? [Any])?.isEmpty == true, "collections are not backups")

            // An index from the collection: its dimension by default, ready when created, the collection's records.
            let seeded = try await client.call(
                .post, "/indexes", body: #"{"name":"seeded","metric":"euclidean","spec":{"pod":{"environment":"us-east1-gcp","source_collection":"snap"}}}"#
            )
            #expect(seeded.status == 201 && seeded.json["dimension"] as? Int == 3, "\(seeded.text)")
            #expect((seeded.json["status"] as? [String: Any])?["ready"] as? Bool == true)
            let stats = try await client.call(.post, "\(data)/seeded/describe_index_stats", body: "{}").json
            #expect(stats["totalVectorCount"] as? Int == 40)
            let query = #"{"vector":[7,1,1],"topK":5,"namespace":"a","filter":{"n":{"$lt":40}}}"#
            let expected = try await client.call(.post, "\(data)/pods/query", body: query).json["matches"] as? [[String: Any]]
            let answered = try await client.call(.post, "\(data)/seeded/query", body: query).json["matches"] as? [[String: Any]]
            #expect(answered?.compactMap { $0["id"] as? String } == expected?.compactMap { $0["id"] as? String } && answered?.count == 5)
            #expect((try await client.call(.get, "\(data)/seeded/vectors/fetch?ids=late&namespace=a").json["vectors"] as? [String: Any])?.isEmpty == true)
            let fromServerless = try await client.call(
                .post, "/indexes", body: #"{"name":"seeded-sl","metric":"cosine","spec":{"serverless":{"cloud":"aws","region":"us-east-1","source_collection":"snap"}}}"#
            )
            #expect(fromServerless.status == 201)
            #expect(try await client.call(.post, "\(data)/seeded-sl/describe_index_stats", body: "{}").json["totalVectorCount"] as? Int == 40)

            // Refusals create nothing.
            let wrongDimension = try await client.call(
                .post, "/indexes", body: #"{"name":"wrong","dimension":4,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","source_collection":"snap"}}}"#
            )
            #expect(wrongDimension.status == 400, "\(wrongDimension.text)")
            let unknown = try await client.call(
                .post, "/indexes", body: #"{"name":"wrong","dimension":3,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","source_collection":"gone"}}}"#
            )
            #expect(unknown.status == 404)
            #expect(try await client.call(.get, "/indexes/wrong").status == 404)

            // Deleting the source keeps the collection; deleting the collection removes row, key and file.
            #expect(try await client.call(.delete, "/indexes/pods").status == 202)
            let directory = server.configuration.dataDirectory.appendingPathComponent("backups")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".backup") }.count == 1)
            #expect(try await client.call(.delete, "/collections/snap").status == 202)
            #expect(try await client.call(.get, "/collections/snap").status == 404)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".backup") }.isEmpty)
            // Audited: the creation, the refused duplicate and the deletion, named by the collection.
            let events = try #require(
                try await client.admin(.get, "/admin/audit-events?resource_type=collection", token: try await client.token()).json["data"] as? [[String: Any]]
            )
            let seen = events.compactMap { event -> String? in
                guard let body = event["event"] as? [String: Any] else { return nil }
                return "\(body["action"] ?? "") \(body["resource_id"] ?? "") \((body["outcome"] as? [String: Any])?["result"] ?? "")"
            }
            #expect(seen.contains("create snap success") && seen.contains("create snap failure") && seen.contains("delete snap success"), "\(seen)")
            #expect(try await client.call(.delete, "/collections/snap").status == 404)

            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.call(.post, "/collections", body: #"{"name":"late","source":"seeded"}"#).status == 402)
        }
    }
}
