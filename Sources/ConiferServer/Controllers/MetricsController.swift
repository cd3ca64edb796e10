import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// Prometheus, as Pinecone documents it: per-project HTTP service discovery listing one scrape target per
/// index, and each target's series in Prometheus's text format. Both take an API key of the project as
/// `Authorization: Bearer` (the `prometheus.yml` of Pinecone's docs works with only its URL changed). Standard
/// and Enterprise plans only.
struct MetricsController {
    let indexes: IndexService
    let dataPlane: DataPlaneService
    let hosts: IndexHosts

    func register(in routes: RouteTable) {
        routes.add(.get, "/prometheus/projects/:project_id/metrics/discovery", .indexesRead, handler: discovery)
        routes.add(.get, "/prometheus/projects/:project_id/metrics/indexes/:index_name", .indexesRead, handler: scrape)
    }

    /// One Prometheus HTTP-SD target group per index: this server's address, the index's metrics path.
    @Sendable func discovery(_ call: AuthorizedCall) async throws -> Response {
        let project = try await allowedProject(call)
        guard let origin = URL(string: hosts.currentOrigin), let scheme = origin.scheme, let host = origin.host else {
            throw ConiferError(.internalError, "The server's origin \(hosts.currentOrigin) is not a URL.")
        }
        let port = origin.port ?? (scheme == "https" ? 443 : 80)
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let groups = try await indexes.list(call.pass).map { index in
            TargetGroupWire(
                targets: [address],
                labels: ["__scheme__": scheme, "__metrics_path__": "/prometheus/projects/\(project)/metrics/indexes/\(index.name)"]
            )
        }
        return try WireJSON.response(status: .ok, groups)
    }

    @Sendable func scrape(_ call: AuthorizedCall) async throws -> Response {
        _ = try await allowedProject(call)
        let body = try await dataPlane.metricsExposition(call.pass, indexName: try call.parameter("index_name"))
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    /// The path's project, when it is the caller's (403 otherwise) and its plan includes metrics (402 otherwise).
    private func allowedProject(_ call: AuthorizedCall) async throws -> String {
        let principal = try call.pass.principal(requiring: .indexesRead)
        let project = try call.parameter("project_id")
        // A key of another project gets 403 for any project id, existing or not: it learns nothing.
        guard project.lowercased() == principal.projectID.lowercasedString else {
            throw ConiferError.permissionDenied("This API key belongs to another project; a project's metrics are served to its own keys only.")
        }
        try await indexes.requireMetricsPlan(call.pass)
        return principal.projectID.lowercasedString
    }
}

/// A target group of Prometheus's HTTP service discovery.
struct TargetGroupWire: Encodable {
    var targets: [String]
    var labels: [String: String]
}
