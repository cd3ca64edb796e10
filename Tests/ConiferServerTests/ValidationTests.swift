import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct ValidationTests {
    static let serverless = #""spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}"#

    /// Bad create requests in the 2025-04 dialect, with the status Pinecone answers.
    static let badLegacyCreates: [(String, Int)] = [
        ("{\"name\":", 400),
        ("[]", 422),
        ("", 400),
        (#"{"dimension":3,\#(serverless)}"#, 422),
        (#"{"name":"x","dimension":3}"#, 422),
        (#"{"name":"x","dimension":"three",\#(serverless)}"#, 422),
        (#"{"name":"Upper","dimension":3,\#(serverless)}"#, 400),
        (#"{"name":"-x","dimension":3,\#(serverless)}"#, 400),
        (#"{"name":"\#(String(repeating: "a", count: 46))","dimension":3,\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":0,\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":20001,\#(serverless)}"#, 400),
        (#"{"name":"x",\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"metric":"manhattan",\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"vector_type":"dotty",\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"vector_type":"sparse","metric":"dotproduct",\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"deletion_protection":"maybe",\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"tags":{"bad key":"v"},\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"tags":{"k":"\#(String(repeating: "v", count: 121))"},\#(serverless)}"#, 400),
        (#"{"name":"x","dimension":3,"spec":{}}"#, 400),
        (#"{"name":"x","dimension":3,"spec":{"serverless":{"cloud":"moon","region":"r"}}}"#, 400),
        (#"{"name":"x","dimension":3,"spec":{"serverless":{"cloud":"aws","region":"us-east-1"},"pod":{"environment":"e"}}}"#, 400),
        (#"{"name":"x","dimension":3,"spec":{"pod":{"environment":"e","pod_type":"z9.x1"}}}"#, 400),
        (#"{"name":"x","dimension":3,"spec":{"serverless":{"cloud":"aws","region":"us-east-1","source_collection":"c"}}}"#, 404),
    ]

    @Test func badCreatesAreRejectedAndStoreNothing() async throws {
        try await TestServer.run { _, client in
            for (body, status) in Self.badLegacyCreates {
                let reply = try await client.call(.post, "/indexes", body: body)
                #expect(reply.status == status, "\(body) -> \(reply.text)")
                #expect(reply.json["status"] as? Int == status)
                #expect(reply.message?.isEmpty == false)
            }
            let tooManyTags = (0..<21).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
            #expect(try await client.createIndex("x", extra: ",\"tags\":{\(tooManyTags)}").status == 400)
            #expect(try await client.call(.get, "/indexes").json["indexes"] as? [Any] != nil)
            #expect((try await client.call(.get, "/indexes").json["indexes"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func bad2026CreatesAreRejected() async throws {
        let managed = #""deployment":{"deployment_type":"managed","cloud":"aws","region":"us-east-1"}"#
        let cases: [(String, Int)] = [
            (#"{"name":"x","schema":{"fields":{}},\#(managed)}"#, 400),
            (#"{"name":"x",\#(managed)}"#, 422),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"}}},"dimension":3}"#, 422),
            (#"{"name":"x","schema":{"fields":{"emb":{"type":"dense_vector","dimension":3,"metric":"cosine"}}}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"sparse_vector"}}}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","metric":"cosine"}}}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3}}}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"},"_sparse_values":{"type":"sparse_vector"}}}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"}}},"deployment":{"deployment_type":"serverless"}}"#, 400),
            (#"{"name":"x","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"}}},"cmek_id":"k"}"#, 400),
        ]
        try await TestServer.run { _, client in
            for (body, status) in cases {
                let reply = try await client.call(.post, "/indexes", version: "2026-07", body: body)
                #expect(reply.status == status, "\(body) -> \(reply.text)")
            }
            let hybrid = #"{"name":"hybrid","schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"dotproduct"},"_sparse_values":{"type":"sparse_vector"}}}}"#
            #expect(try await client.call(.post, "/indexes", version: "2026-07", body: hybrid).status == 201)
            let noName = #"{"schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"cosine"}}}}"#
            let generated = try await client.call(.post, "/indexes", version: "2026-07", body: noName)
            #expect(generated.status == 201)
            #expect((generated.json["name"] as? String)?.hasPrefix("index-") == true)
            #expect((try await client.call(.get, "/indexes").json["indexes"] as? [Any])?.count == 2)
        }
    }

    @Test func badConfiguresChangeNothing() async throws {
        try await TestServer.run { _, client in
            try await client.createIndex("keep", extra: #","tags":{"env":"dev"}"#)
            let cases: [(String?, String, Int)] = [
                (nil, #"{"deletion_protection":"sometimes"}"#, 400),
                (nil, #"{"tags":{"bad key":"x"},"deletion_protection":"enabled"}"#, 400),
                (nil, #"{"spec":{"pod":{"replicas":2}}}"#, 400),
                (nil, #"{"embed":{"model":"m"}}"#, 400),
                (nil, #"{"tags":"#, 400),
                ("2026-07", #"{"unknown":1}"#, 422),
                ("2026-07", #"{"deployment":{"replicas":2}}"#, 400),
                ("2026-07", #"{"read_capacity":{"mode":"Sometimes"}}"#, 400),
            ]
            for (version, body, status) in cases {
                let reply = try await client.call(.patch, "/indexes/keep", version: version, body: body)
                #expect(reply.status == status, "\(body) -> \(reply.text)")
            }
            let model = try await client.call(.get, "/indexes/keep").json
            #expect(model["deletion_protection"] as? String == "disabled")
            #expect(model["tags"] as? [String: String] == ["env": "dev"])
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await TestServer.run { _, client in
            let padding = String(repeating: "a", count: RouteTable.controlPlaneBodyLimit + 10)
            let reply = try await client.call(.post, "/indexes", body: #"{"name":"big","pad":"\#(padding)"}"#)
            #expect(reply.status == 413)
            #expect(reply.errorCode == "PAYLOAD_TOO_LARGE")
            #expect((try await client.call(.get, "/indexes").json["indexes"] as? [Any])?.isEmpty == true)
        }
    }

    /// Second attack run, finding 14: a body that repeats a key in one object (at any depth, however the key is
    /// escaped) is refused with 400 by every decoder (the data plane's fast scanner and its fallback, the control
    /// plane, the Admin API, the token endpoint's JSON and form bodies), and nothing is stored.
    @Test func repeatedKeysAreRefusedByEveryDecoder() async throws {
        try await TestServer.run { server, client in
            let data = "/data/\(try #require(server.bootstrap).projectID.lowercasedString)/dups"
            #expect(try await client.createIndex("dups").status == 201)
            let owner = try await client.token()
            let refused: [(String, Reply)] = [
                ("upsert id", try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"dup1","values":[1,0,0],"id":"dup2"}]}"#)),
                ("upsert escaped", try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"a","\u0069d":"b","values":[1,0,0]}]}"#)),
                ("upsert namespace", try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"c","values":[1,0,0]}],"namespace":"a","namespace":"b"}"#)),
                ("metadata", try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"d","values":[1,0,0],"metadata":{"k":1,"k":2}}]}"#)),
                ("query", try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0],"namespace":"a","namespace":"b"}"#)),
                ("filter", try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0],"filter":{"k":{"$eq":1},"k":{"$eq":2}}}"#)),
                ("create index", try await client.call(.post, "/indexes", body: #"{"name":"a","name":"b","dimension":3,\#(Self.serverless)}"#)),
                ("admin", try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"one","name":"two"}"#)),
                ("audit log", try await client.admin(
                    .put, "/admin/audit-log", token: owner, body: #"{"bucket":"b-one","bucket":"b-two","role_arn":"arn:aws:iam::123456789012:role/r"}"#
                )),
                ("token json", try await client.call(
                    .post, "/oauth/token", key: nil,
                    body: #"{"grant_type":"client_credentials","client_id":"nobody","client_id":"\#(TestServer.clientID)","client_secret":"\#(TestServer.clientSecret)"}"#
                )),
                ("token form", try await client.call(
                    .post, "/oauth/token", key: nil, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: "grant_type=client_credentials&client_id=nobody&client%5Fid=\(TestServer.clientID)&client_secret=\(TestServer.clientSecret)"
                )),
            ]
            for (what, reply) in refused {
                #expect(reply.status == 400, "\(what): \(reply.status) \(reply.text)")
            }
            let stats = try await client.call(.post, "\(data)/describe_index_stats", body: "{}")
            #expect(stats.json["totalVectorCount"] as? Int == 0, "nothing was stored: \(stats.text)")
            #expect(try await client.call(.get, "/indexes/a").status == 404)
            // The same keys in different objects are fine.
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"x","values":[1,0,0]},{"id":"y","values":[0,1,0]}]}"#).status == 200)
        }
    }
}
