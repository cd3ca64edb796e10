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
}

@Suite struct APIVersionTests {
    @Test func headerNameIsCaseInsensitiveAndDuplicatesCountOnce() throws {
        var headers = HTTPFields()
        headers.append(HTTPField(name: HTTPField.Name("X-Pinecone-API-Version")!, value: "2025-10"))
        headers.append(HTTPField(name: HTTPField.Name("x-pinecone-api-version")!, value: "2025-10"))
        #expect(try APIVersion(headers: headers) == .v2025_10)
        #expect(try APIVersion(headers: [:]) == .v2025_04)
        var joined = HTTPFields()
        joined[HTTPField.Name("X-Pinecone-Api-Version")!] = "2026-07, 2026-07"
        #expect(try APIVersion(headers: joined) == .v2026_07)
    }

    @Test func conflictingOrUnknownVersionsAreRejected() {
        var conflicting = HTTPFields()
        conflicting.append(HTTPField(name: HTTPField.Name("X-Pinecone-Api-Version")!, value: "2025-04"))
        conflicting.append(HTTPField(name: HTTPField.Name("X-Pinecone-API-Version")!, value: "2026-07"))
        #expect(throws: ConiferError.self) { try APIVersion(headers: conflicting) }
        var unknown = HTTPFields()
        unknown[HTTPField.Name("X-Pinecone-Api-Version")!] = "2024-07"
        #expect(throws: ConiferError.self) { try APIVersion(headers: unknown) }
    }

    @Test func serverAnswersInTheRequestedDialect() async throws {
        try await TestServer.run { _, client in
            try await client.createIndex("dialects")
            let absent = try await client.call(.get, "/indexes/dialects")
            #expect(absent.json["spec"] != nil)
            let duplicated = try await client.call(
                .get, "/indexes/dialects",
                headers: [("X-Pinecone-Api-Version", "2026-07"), ("X-PINECONE-API-VERSION", "2026-07")]
            )
            #expect(duplicated.status == 200)
            #expect(duplicated.json["schema"] != nil)
            let unknown = try await client.call(.get, "/indexes", version: "2099-01")
            #expect(unknown.status == 400)
            #expect(unknown.errorCode == "INVALID_ARGUMENT")
        }
    }
}

@Suite struct ErrorShapeTests {
    @Test func unknownRoutesAndWrongMethodsUseThePlaneShape() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let control = try await client.call(.get, "/no/such/route")
            #expect(control.status == 404)
            #expect(control.errorCode == "NOT_FOUND")
            let data = try await client.call(.get, "/data/\(project)/idx/no/such")
            #expect(data.status == 404)
            #expect(data.grpcCode == 5)
            let wrongMethod = try await client.call(.put, "/indexes")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.json["status"] as? Int == 405)
            let wrongDataMethod = try await client.call(.get, "/data/\(project)/idx/query")
            #expect(wrongDataMethod.status == 405)
            #expect(wrongDataMethod.grpcCode == 12)
        }
    }

    @Test func dataPlaneRoutesExistAndAnswerForTheirIndex() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let created = try await client.createIndex("data")
            let host = try #require(created.json["host"] as? String)
            let path = try #require(URL(string: host)).path
            #expect(path == "/data/\(project)/data")
            // An empty body (or no parameters) on an existing index, with what each operation answers: 422 for a
            // body missing a required field (Pinecone's deserialization error), 400 for a missing parameter or filter.
            let expected: [String: Int] = [
                "POST vectors/upsert": 422, "POST query": 422, "GET vectors/fetch": 400, "POST vectors/fetch_by_metadata": 400,
                "POST vectors/update": 400, "POST vectors/delete": 400, "GET vectors/list": 200, "POST describe_index_stats": 200,
                "GET namespaces": 200, "POST namespaces": 422, "GET namespaces/:namespace": 404, "DELETE namespaces/:namespace": 404,
                "POST records/namespaces/:namespace/upsert": 501, "POST records/namespaces/:namespace/search": 501,
                "GET bulk/imports": 501, "POST bulk/imports": 501, "GET bulk/imports/:import_id": 501, "DELETE bulk/imports/:import_id": 501,
            ]
            #expect(Set(expected.keys) == Set(DataPlaneController.operations.map { "\($0.method.rawValue) \($0.path)" }))
            for operation in DataPlaneController.operations {
                let suffix = operation.path
                    .replacingOccurrences(of: ":namespace", with: "ns1")
                    .replacingOccurrences(of: ":import_id", with: "1")
                let body = operation.method == .get || operation.method == .delete ? nil : "{}"
                let known = try await client.call(operation.method, "\(path)/\(suffix)", body: body)
                #expect(known.status == expected["\(operation.method.rawValue) \(operation.path)"], "\(operation.path): \(known.status) \(known.text)")
                if known.status == 404 { #expect(known.message?.hasPrefix("Namespace") == true, "\(operation.path): \(known.text)") }
                let missing = try await client.call(operation.method, "/data/\(project)/missing/\(suffix)", body: body)
                #expect(missing.status == 404, "\(operation.path)")
                #expect(missing.grpcCode == 5)
                #expect(missing.json["details"] as? [Any] != nil)
            }
        }
    }
}
