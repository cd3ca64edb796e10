import ConiferCore
import Foundation
import Testing
@testable import ConiferServer

/// `vector_encoding`, Conifer's own index setting: asked for in the spec (2025-04) or the deployment
/// (2026-07), shown back only when it is int8, refused when it makes no sense, kept across a restart and
/// by a restore, and invisible in answers: an int8 index answers with the float vectors' scores.
@Suite struct VectorEncodingTests {
    static let vectors = (0..<60).map { i in #"{"id":"v\#(i)","values":[\#(Float(i) * 0.37),\#(1 + Float(i % 7) * 0.11),\#(Float(i % 5) - 2.2)]}"# }
        .joined(separator: ",")

    @Test func anInt8IndexIsDescribedKeptAndRestoredAndAnswersAsAFloatIndexDoes() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            let data = "/data/\(try #require(server.bootstrap).projectID.lowercasedString)"
            let int8 = #","spec":{"serverless":{"cloud":"aws","region":"us-east-1","vector_encoding":"int8"}}"#
            let created = try await client.call(.post, "/indexes", body: #"{"name":"compact","dimension":3,"metric":"cosine"\#(int8)}"#)
            #expect(created.status == 201, "\(created.text)")
            #expect(((created.json["spec"] as? [String: Any])?["serverless"] as? [String: Any])?["vector_encoding"] as? String == "int8")
            #expect(try await client.createIndex("plain").status == 201)
            let plain = try await client.call(.get, "/indexes/plain")
            #expect(((plain.json["spec"] as? [String: Any])?["serverless"] as? [String: Any])?.keys.contains("vector_encoding") == false)
            let described = try await client.call(.get, "/indexes/compact", version: "2026-07")
            #expect((described.json["deployment"] as? [String: Any])?["vector_encoding"] as? String == "int8")
            let made2026 = try await client.call(
                .post, "/indexes", version: "2026-07",
                body: #"{"name":"new","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"euclidean"}}},"deployment":{"deployment_type":"managed","cloud":"aws","region":"us-east-1","vector_encoding":"int8"}}"#
            )
            #expect(made2026.status == 201 && (made2026.json["deployment"] as? [String: Any])?["vector_encoding"] as? String == "int8", "\(made2026.text)")

            // The same records in both: the same matches with the same scores.
            for index in ["compact", "plain"] {
                #expect(try await client.call(.post, "\(data)/\(index)/vectors/upsert", body: #"{"vectors":[\#(Self.vectors)]}"#).status == 200)
            }
            let query = #"{"topK":7,"vector":[0.3,1.2,-0.4],"includeValues":true}"#
            let answer = try await client.call(.post, "\(data)/compact/query", body: query)
            let expected = try await client.call(.post, "\(data)/plain/query", body: query)
            #expect(answer.status == 200 && (answer.json["matches"] as? [[String: Any]])?.count == 7)
            #expect(answer.json["matches"] as? NSArray == expected.json["matches"] as? NSArray, "\(answer.text) vs \(expected.text)")

            // A restore makes an int8 index again.
            let backup = try #require(try await client.call(.post, "/indexes/compact/backups", body: "{}").json["backup_id"] as? String)
            let job = try #require(try await client.call(.post, "/backups/\(backup)/create-index", body: #"{"name":"restored"}"#).json["restore_job_id"] as? String)
            #expect(try await BackupTests.waitForJob(client, job)["status"] as? String == "Completed")
            let restored = try await client.call(.get, "/indexes/restored")
            #expect(((restored.json["spec"] as? [String: Any])?["serverless"] as? [String: Any])?["vector_encoding"] as? String == "int8")
            #expect(try await client.call(.post, "\(data)/restored/query", body: query).json["matches"] as? NSArray == expected.json["matches"] as? NSArray)
        }
        // After a restart: still int8, still the same answers.
        try await TestServer.run(directory: directory) { _, client in
            let described = try await client.call(.get, "/indexes/compact")
            let host = try #require(described.json["host"] as? String)
            let data = try #require(URL(string: host)).path.replacingOccurrences(of: "/compact", with: "")
            #expect(((described.json["spec"] as? [String: Any])?["serverless"] as? [String: Any])?["vector_encoding"] as? String == "int8")
            let query = #"{"topK":7,"vector":[0.3,1.2,-0.4],"includeValues":true}"#
            let answer = try await client.call(.post, "\(data)/compact/query", body: query)
            #expect(answer.json["matches"] as? NSArray == (try await client.call(.post, "\(data)/plain/query", body: query)).json["matches"] as? NSArray)
        }
    }

    @Test func aMeaninglessEncodingIsRefusedAndCreatesNothing() async throws {
        try await TestServer.run { _, client in
            let unknown = try await client.call(
                .post, "/indexes", body: #"{"name":"a","dimension":3,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","vector_encoding":"int4"}}}"#
            )
            #expect(unknown.status == 400 && unknown.errorCode == "INVALID_ARGUMENT" && unknown.message?.contains("vector_encoding") == true, "\(unknown.text)")
            let sparse = try await client.call(
                .post, "/indexes", version: "2026-07",
                body: #"{"name":"b","schema":{"fields":{"_sparse_values":{"type":"sparse_vector"}}},"deployment":{"deployment_type":"managed","cloud":"aws","region":"us-east-1","vector_encoding":"int8"}}"#
            )
            #expect(sparse.status == 400 && sparse.message?.contains("dense") == true, "\(sparse.text)")
            #expect((try await client.call(.get, "/indexes").json["indexes"] as? [Any])?.isEmpty == true)
        }
    }
}
