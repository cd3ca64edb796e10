import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

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
