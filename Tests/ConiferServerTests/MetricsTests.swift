@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Prometheus metrics as Pinecone serves them: per-project service discovery and per-index series, with an
/// API key of the project as the bearer credential. A real Prometheus scrapes them in
/// conformance/test_prometheus.py.
@Suite struct MetricsTests {
    /// `name{labels} value` lines of a scrape, as (name, labels, value).
    static func samples(_ text: String) -> [(name: String, labels: String, value: Double)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"),
                  let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces))
            else { return nil }
            return (String(line[..<brace]), String(line[brace...close]), value)
        }
    }

    @Test func seriesCountEveryRequestAndTheGaugesMatchWhatIsStored() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("metered").status == 201)
            let data = "/data/\(project)/metered"
            for body in [
                #"{"vectors":[{"id":"a","values":[1,0,0]}]}"#, #"{"vectors":[{"id":"b","values":[0,1,0]}]}"#,
                #"{"vectors":[{"id":"c","values":[0,0,1]},{"id":"d","values":[1,1,1]}]}"#,
            ] {
                #expect(try await client.call(.post, "\(data)/vectors/upsert", body: body).status == 200)
            }
            for _ in 0..<2 { #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":2,"vector":[1,0,0]}"#).status == 200) }
            #expect(try await client.call(.get, "\(data)/vectors/fetch?ids=a").status == 200)
            #expect(try await client.call(.post, "\(data)/vectors/update", body: #"{"id":"a","values":[0.5,0.5,0]}"#).status == 200)
            #expect(try await client.call(.post, "\(data)/vectors/delete", body: #"{"ids":["d"]}"#).status == 200)

            let bearer = [("Authorization", "Bearer \(TestServer.bootstrapKey)")]
            let scrape = try await client.call(.get, "/prometheus/projects/\(project)/metrics/indexes/metered", key: nil, headers: bearer)
            #expect(scrape.status == 200 && scrape.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true, "\(scrape.text)")
            let samples = Self.samples(scrape.text)
            func value(_ name: String) -> Double? { samples.first { $0.name == name }?.value }
            #expect(value("pinecone_db_op_upsert_total") == 3)
            #expect(value("pinecone_db_op_query_total") == 2)
            #expect(value("pinecone_db_op_fetch_total") == 1)
            #expect(value("pinecone_db_op_update_total") == 1)
            #expect(value("pinecone_db_op_delete_total") == 1)
            #expect(value("pinecone_db_record_total") == 3)
            #expect((value("pinecone_db_storage_size_bytes") ?? 0) > 0)
            #expect((value("pinecone_db_op_upsert_duration_total") ?? 0) > 0)
            for sample in samples {
                #expect(sample.labels.contains(#"index_name="metered""#) && sample.labels.contains(#"capacity_mode="serverless""#), "\(sample)")
                #expect(sample.labels.contains(#"cloud="aws""#) && sample.labels.contains(#"region="us-east-1""#), "\(sample)")
            }
            // Deleted, the index has no series.
            #expect(try await client.call(.delete, "/indexes/metered").status == 202)
            #expect(try await client.call(.get, "/prometheus/projects/\(project)/metrics/indexes/metered", key: nil, headers: bearer).status == 404)
        }
    }

    /// Read and write units after Pinecone's cost model: a query at least 0.25 RU, a fetch 1 RU per 10 records
    /// (at least 1), a list page 1 RU, writes 1 WU per KB of records written (at least 5); responses round up.
    @Test func readAndWriteUnitsFollowTheCostModel() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("units", dimension: 256).status == 201)
            let data = "/data/\(project)/units"
            func vector(_ i: Int) -> String { "[" + (0..<256).map { _ in String(Double(i) + 0.5) }.joined(separator: ",") + "]" }
            // 15 records of 256 floats (1,024 bytes) and a 3-byte id each: ceil(15,405 / 1024) = 16 WU.
            let records = (0..<15).map { #"{"id":"r\#(String(format: "%02d", $0))","values":\#(vector($0))}"# }.joined(separator: ",")
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[\#(records)]}"#).status == 200)
            // One small record: the 5 WU minimum.
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"x","values":\#(vector(1))}]}"#).status == 200)
            let query = try await client.call(.post, "\(data)/query", body: #"{"topK":3,"vector":\#(vector(2))}"#)
            #expect(((query.json["usage"] as? [String: Any])?["readUnits"] as? Int) == 1, "0.25 RU, reported as 1")
            let ids = (0..<15).map { "ids=r\(String(format: "%02d", $0))" }.joined(separator: "&")
            let fetched = try await client.call(.get, "\(data)/vectors/fetch?\(ids)&ids=missing")
            #expect(((fetched.json["usage"] as? [String: Any])?["readUnits"] as? Int) == 2, "15 records found: 2 RU")
            let listed = try await client.call(.get, "\(data)/vectors/list")
            #expect(((listed.json["usage"] as? [String: Any])?["readUnits"] as? Int) == 1)
            #expect(try await client.call(.post, "\(data)/vectors/delete", body: #"{"ids":["r00","missing"]}"#).status == 200)

            let scrape = try await client.call(.get, "/prometheus/projects/\(project)/metrics/indexes/units", key: nil, headers: [("Authorization", "Bearer \(TestServer.bootstrapKey)")])
            let samples = Self.samples(scrape.text)
            func value(_ name: String) -> Double? { samples.first { $0.name == name }?.value }
            #expect(value("pinecone_db_read_unit_total") == 0.25 + 2 + 1)
            #expect(value("pinecone_db_write_unit_total") == 16.0 + 5 + 5, "upserts 16 + 5, the delete's 5 minimum")
        }
    }

    @Test func discoveryListsTheProjectsIndexesForItsOwnKeysOnly() async throws {
        try await TestServer.run { server, client in
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.lowercasedString
            for name in ["first", "second"] { #expect(try await client.createIndex(name).status == 201) }
            let path = "/prometheus/projects/\(project)/metrics/discovery"
            let reply = try await client.call(.get, path, key: nil, headers: [("Authorization", "Bearer \(TestServer.bootstrapKey)")])
            #expect(reply.status == 200, "\(reply.text)")
            let groups = try #require(try JSONSerialization.jsonObject(with: Data(reply.text.utf8)) as? [[String: Any]])
            let paths = groups.compactMap { ($0["labels"] as? [String: String])?["__metrics_path__"] }.sorted()
            #expect(paths == ["first", "second"].map { "/prometheus/projects/\(project)/metrics/indexes/\($0)" })
            for group in groups {
                #expect((group["targets"] as? [String])?.count == 1)
                #expect((group["labels"] as? [String: String])?["__scheme__"] == "http")
            }

            // Another project's key, a bad key, no key.
            let other = try await server.sqliteCatalog.createProject(name: "other", organizationID: boot.organizationID)
            let otherKey = try await server.sqliteCatalog.createAPIKey(projectID: other, name: "k", roles: [.projectEditor])
            let refused = try await client.call(.get, path, key: nil, headers: [("Authorization", "Bearer \(otherKey.value)")])
            #expect(refused.status == 403 && !refused.text.contains("first"), "another project's metrics are refused: \(refused.text)")
            #expect(try await client.call(.get, "/prometheus/projects/\(project)/metrics/indexes/first", key: nil, headers: [("Authorization", "Bearer \(otherKey.value)")]).status == 403)
            let unknown = "/prometheus/projects/\(UUID().uuidString.lowercased())/metrics/discovery"
            #expect(try await client.call(.get, unknown, key: nil, headers: [("Authorization", "Bearer \(otherKey.value)")]).status == 403, "the same for a project that does not exist")
            #expect(try await client.call(.get, path, key: nil, headers: [("Authorization", "Bearer pcsk_not_a_key_0123456789abcdefghij")]).status == 401)
            #expect(try await client.call(.get, path, key: nil).status == 401)
            // The Api-Key header works too; a data-plane-only key cannot read the project's index list.
            #expect(try await client.call(.get, path).status == 200)
            let dataOnly = try await server.sqliteCatalog.createAPIKey(projectID: boot.projectID, name: "d", roles: [.dataPlaneViewer])
            #expect(try await client.call(.get, path, key: nil, headers: [("Authorization", "Bearer \(dataOnly.value)")]).status == 403)

            // Standard and Enterprise only.
            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.call(.get, path, key: nil, headers: [("Authorization", "Bearer \(TestServer.bootstrapKey)")]).status == 402)
        }
    }
}

/// The operator's `GET /metrics`: only with the configured token; HTTP requests by route pattern and status,
/// never an index or project name; process metrics.
@Suite struct OperatorMetricsTests {
    @Test func operatorMetricsNeedTheTokenAndCountRequestsByRoute() async throws {
        try await TestServer.run(configure: { $0.metricsToken = "operator-metrics-token-123" }) { server, client in
            #expect(try await client.createIndex("secret-index-name").status == 201)
            for _ in 0..<3 { #expect(try await client.call(.get, "/indexes/secret-index-name").status == 200) }
            #expect(try await client.call(.get, "/indexes/missing").status == 404)
            #expect(try await client.call(.get, "/metrics", key: nil).status == 401)
            #expect(try await client.call(.get, "/metrics", key: nil, headers: [("Authorization", "Bearer wrong")]).status == 401)
            let scrape = try await client.call(.get, "/metrics", key: nil, headers: [("Authorization", "Bearer operator-metrics-token-123")])
            #expect(scrape.status == 200)
            let samples = MetricsTests.samples(scrape.text)
            func count(_ route: String, _ status: String) -> Double? {
                samples.first { $0.name == "conifer_http_requests_total" && $0.labels.contains(#"route="\#(route)""#) && $0.labels.contains(#"status="\#(status)""#) && $0.labels.contains(#"method="GET""#) }?.value
            }
            #expect(count("/indexes/{index_name}", "200") == 3)
            #expect(count("/indexes/{index_name}", "404") == 1)
            #expect(samples.contains { $0.name == "conifer_http_request_duration_seconds_bucket" })
            #expect(!scrape.text.contains("secret-index-name"))
            for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
                #expect(scrape.text.contains("\n\(name) ") || scrape.text.hasPrefix("\(name) "), "\(name)")
            }
        }
        // Without a token it is not served.
        try await TestServer.run { _, client in
            let status = try await client.call(.get, "/metrics", key: nil).status
            #expect(status == 404)
        }
    }
}
