import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct IndexLifecycleTests {
    @Test func legacyDialectRoundTrip() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let created = try await client.createIndex("test-index", extra: #","tags":{"env":"dev"},"deletion_protection":"disabled","vector_type":"dense""#)
            #expect(created.status == 201)
            let model = created.json
            #expect(model["name"] as? String == "test-index")
            #expect(model["dimension"] as? Int == 3)
            #expect(model["metric"] as? String == "cosine")
            #expect(model["vector_type"] as? String == "dense")
            #expect(model["deletion_protection"] as? String == "disabled")
            #expect(model["tags"] as? [String: String] == ["env": "dev"])
            #expect((model["status"] as? [String: Any])?["ready"] as? Bool == true)
            #expect((model["status"] as? [String: Any])?["state"] as? String == "Ready")
            let serverless = (model["spec"] as? [String: Any])?["serverless"] as? [String: Any]
            #expect(serverless?["cloud"] as? String == "aws")
            #expect(serverless?["region"] as? String == "us-east-1")
            #expect(serverless?["read_capacity"] == nil)
            let port = try #require(client.port)
            #expect(model["host"] as? String == "http://localhost:\(port)/data/\(project)/test-index")

            let listed = try await client.call(.get, "/indexes")
            #expect(listed.status == 200)
            let names = (listed.json["indexes"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["test-index"])

            let described = try await client.call(.get, "/indexes/test-index")
            #expect(described.status == 200)
            #expect(described.json["dimension"] as? Int == 3)

            let configured = try await client.call(.patch, "/indexes/test-index", body: #"{"deletion_protection":"enabled","tags":{"env":"","team":"search"}}"#)
            #expect(configured.status == 202)
            #expect(configured.json["deletion_protection"] as? String == "enabled")
            #expect(configured.json["tags"] as? [String: String] == ["team": "search"])

            let refused = try await client.call(.delete, "/indexes/test-index")
            #expect(refused.status == 403)
            #expect(refused.errorCode == "FORBIDDEN")
            #expect(try await client.call(.get, "/indexes/test-index").status == 200)

            _ = try await client.call(.patch, "/indexes/test-index", body: #"{"deletion_protection":"disabled"}"#)
            let deleted = try await client.call(.delete, "/indexes/test-index")
            #expect(deleted.status == 202)
            #expect(deleted.text.isEmpty)
            let gone = try await client.call(.get, "/indexes/test-index")
            #expect(gone.status == 404)
            #expect(gone.errorCode == "NOT_FOUND")
            #expect(gone.message == "Index test-index not found.")
        }
    }

    @Test func version2025_10ReportsReadCapacity() async throws {
        try await TestServer.run { _, client in
            let body = #"{"name":"rc","dimension":4,"metric":"dotproduct","spec":{"serverless":{"cloud":"gcp","region":"europe-west4","read_capacity":{"mode":"Dedicated","dedicated":{"node_type":"t1","scaling":"Manual","manual":{"replicas":2,"shards":1}}}}}}"#
            let created = try await client.call(.post, "/indexes", version: "2025-10", body: body)
            #expect(created.status == 201)
            let serverless = (created.json["spec"] as? [String: Any])?["serverless"] as? [String: Any]
            let capacity = serverless?["read_capacity"] as? [String: Any]
            #expect(capacity?["mode"] as? String == "Dedicated")
            #expect((capacity?["dedicated"] as? [String: Any])?["node_type"] as? String == "t1")
            #expect((capacity?["status"] as? [String: Any])?["state"] as? String == "Ready")
            let onDemand = try await client.call(.patch, "/indexes/rc", version: "2025-10", body: #"{"spec":{"serverless":{"read_capacity":{"mode":"OnDemand"}}}}"#)
            #expect(onDemand.status == 202)
            let after = ((onDemand.json["spec"] as? [String: Any])?["serverless"] as? [String: Any])?["read_capacity"] as? [String: Any]
            #expect(after?["mode"] as? String == "OnDemand")
        }
    }

    @Test func version2026_07UsesSchemaAndDeployment() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let body = #"{"schema":{"fields":{"_values":{"type":"dense_vector","dimension":3,"metric":"euclidean"}}},"name":"new-api","deployment":{"deployment_type":"managed","cloud":"aws","region":"us-east-1"},"deletion_protection":"disabled","tags":{"env":"dev"}}"#
            let created = try await client.call(.post, "/indexes", version: "2026-07", body: body)
            #expect(created.status == 201)
            let model = created.json
            #expect(model["dimension"] == nil)
            #expect(model["spec"] == nil)
            let fields = (model["schema"] as? [String: Any])?["fields"] as? [String: Any]
            let dense = fields?["_values"] as? [String: Any]
            #expect(dense?["type"] as? String == "dense_vector")
            #expect(dense?["dimension"] as? Int == 3)
            #expect(dense?["metric"] as? String == "euclidean")
            #expect((fields?["_sparse_values"] as? [String: Any])?["type"] as? String == "sparse_vector")
            let deployment = model["deployment"] as? [String: Any]
            #expect(deployment?["deployment_type"] as? String == "managed")
            #expect(deployment?["cloud"] as? String == "aws")
            #expect((model["read_capacity"] as? [String: Any])?["mode"] as? String == "OnDemand")
            #expect((model["host"] as? String)?.hasSuffix("/data/\(project)/new-api") == true)

            let configured = try await client.call(.patch, "/indexes/new-api", version: "2026-07", body: #"{"deletion_protection":"enabled","tags":{"env":"prod"}}"#)
            #expect(configured.status == 200)
            #expect(configured.json["tags"] as? [String: String] == ["env": "prod"])

            // The same index read in the old dialect.
            let legacy = try await client.call(.get, "/indexes/new-api", version: "2025-04")
            #expect(legacy.json["dimension"] as? Int == 3)
            #expect(legacy.json["metric"] as? String == "euclidean")
            #expect(legacy.json["deletion_protection"] as? String == "enabled")
        }
    }

    @Test func sparseIndexesInBothDialects() async throws {
        try await TestServer.run { _, client in
            let modern = try await client.call(
                .post, "/indexes", version: "2026-07",
                body: #"{"schema":{"fields":{"_sparse_values":{"type":"sparse_vector"}}},"name":"sparse-index","deployment":{"deployment_type":"managed","cloud":"aws","region":"us-east-1"}}"#
            )
            #expect(modern.status == 201)
            let fields = (modern.json["schema"] as? [String: Any])?["fields"] as? [String: Any]
            #expect(fields?.keys.sorted() == ["_sparse_values"])
            let legacy = try await client.call(.get, "/indexes/sparse-index")
            #expect(legacy.json["vector_type"] as? String == "sparse")
            #expect(legacy.json["metric"] as? String == "dotproduct")
            #expect(legacy.json["dimension"] == nil)

            let old = try await client.call(.post, "/indexes", body: #"{"name":"sparse-old","vector_type":"sparse","metric":"dotproduct","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}}"#)
            #expect(old.status == 201)
            let bad = try await client.call(.post, "/indexes", body: #"{"name":"sparse-bad","vector_type":"sparse","metric":"cosine","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}}"#)
            #expect(bad.status == 400)
        }
    }

    @Test func podAndByocDeploymentsAreKept() async throws {
        try await TestServer.run { _, client in
            let pod = try await client.call(.post, "/indexes", body: #"{"name":"pods","dimension":8,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1","replicas":1}}}"#)
            #expect(pod.status == 201)
            let scaled = try await client.call(.patch, "/indexes/pods", body: #"{"spec":{"pod":{"replicas":3,"pod_type":"p1.x2"}}}"#)
            #expect(scaled.status == 202)
            let spec = (scaled.json["spec"] as? [String: Any])?["pod"] as? [String: Any]
            #expect(spec?["replicas"] as? Int == 3)
            #expect(spec?["pod_type"] as? String == "p1.x2")
            let modern = try await client.call(.get, "/indexes/pods", version: "2026-07")
            let deployment = modern.json["deployment"] as? [String: Any]
            #expect(deployment?["deployment_type"] as? String == "pod")
            #expect(deployment?["replicas"] as? Int == 3)

            let byoc = try await client.call(
                .post, "/indexes", version: "2026-07",
                body: #"{"name":"byoc","schema":{"fields":{"_values":{"type":"dense_vector","dimension":2,"metric":"cosine"}}},"deployment":{"deployment_type":"byoc","environment":"aws-us-east-1-b921"}}"#
            )
            #expect(byoc.status == 201)
            #expect((byoc.json["deployment"] as? [String: Any])?["environment"] as? String == "aws-us-east-1-b921")
        }
    }

    @Test func conflictNotFoundAndNameReuseAfterDelete() async throws {
        try await TestServer.run { _, client in
            #expect(try await client.createIndex("dup").status == 201)
            let conflict = try await client.createIndex("dup", dimension: 5)
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "ALREADY_EXISTS")
            #expect(try await client.call(.get, "/indexes/dup").json["dimension"] as? Int == 3)
            #expect(try await client.call(.patch, "/indexes/missing", body: #"{"tags":{"a":"b"}}"#).status == 404)
            #expect(try await client.call(.delete, "/indexes/missing").status == 404)
            #expect(try await client.call(.delete, "/indexes/dup").status == 202)
            #expect(try await client.createIndex("dup", dimension: 5).status == 201)
            #expect(try await client.call(.get, "/indexes/dup").json["dimension"] as? Int == 5)
        }
    }
}
