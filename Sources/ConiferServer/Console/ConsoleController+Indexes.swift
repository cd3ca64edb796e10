import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// The console's index pages: a project's indexes (list with status, create), an index (its settings, statistics,
/// configuration, deletion) and the query tool. The signed-in user acts in the project as a bearer token with
/// `X-Project-Id` would: the index and data-plane services take the same pass, the create form is read by the
/// API's own 2026-07 request (so its rules and messages are the API's), and a query takes the index's rate limit and
/// is metered as the API's is.
extension ConsoleController {
    func registerIndexPages(in routes: RouteTable) {
        let index = "/console/projects/:project_id/indexes/:index_name"
        routes.console(.get, "/console/projects/:project_id/indexes", .projectAdmin(.indexesRead), handler: indexesPage)
        routes.console(.post, "/console/projects/:project_id/indexes", .projectAdmin(.indexesWrite), audit: .kind(.createIndex), handler: createIndex)
        routes.console(.get, index, .projectAdmin(.indexesRead), handler: indexPage)
        routes.console(.post, index, .projectAdmin(.indexesWrite), audit: .kind(.configureIndex), handler: configureIndex)
        routes.console(.post, "\(index)/delete", .projectAdmin(.indexesWrite), audit: .kind(.deleteIndex), handler: deleteIndex)
        routes.console(.get, "\(index)/query", .projectAdmin(.dataRead), handler: queryTool)
        routes.console(.get, "\(index)/metrics", .projectAdmin(.indexesRead), handler: metricsPage)
        routes.console(.get, "\(index)/metrics/:chart", .projectAdmin(.indexesRead), handler: metricsChart)
    }

    /// The pass the index and data-plane services take: the user inside the path's project, holding `permission`.
    func projectPass(_ call: ConsoleCall, _ permission: Permission) throws -> (project: UUID, pass: AuthorizationPass) {
        let project = try call.uuid("project_id", notFound: "Project")
        return (project, try call.pass.identity.principal(inProject: project).authorize(permission))
    }

    func indexPath(_ project: UUID, _ name: String) -> String {
        "/console/projects/\(project.lowercasedString)/indexes/\(name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)"
    }

    /// The form's tags: `key=value`, one per line.
    static func tags(_ call: ConsoleCall) throws(ConiferError) -> [String: String] {
        var tags: [String: String] = [:]
        for line in call.field("tags").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw .invalidArgument("Write each tag as key=value on its own line.") }
            tags[parts[0]] = parts[1]
        }
        return tags
    }

    /// A whole number the form may leave empty (nil then).
    static func whole(_ call: ConsoleCall, _ field: String) throws(ConiferError) -> Int? {
        let text = call.field(field)
        guard !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw .invalidArgument("\(field.replacingOccurrences(of: "_", with: " ").capitalized) must be a whole number.") }
        return value
    }

    static func count(_ call: ConsoleCall, _ field: String) throws(ConiferError) -> JSONValue? {
        try whole(call, field).map { .number(Double($0)) }
    }

    /// The form's read capacity as the 2026-07 API's `read_capacity` (nil when the form has none): on demand, or
    /// dedicated nodes of a type with replicas and shards.
    static func readCapacity(_ call: ConsoleCall) throws(ConiferError) -> JSONValue? {
        switch call.form["read_capacity"] {
        case nil, "": return nil
        case ReadCapacity.Mode.dedicated.rawValue?:
            var manual: [String: JSONValue] = [:]
            manual["replicas"] = try count(call, "read_replicas")
            manual["shards"] = try count(call, "read_shards")
            return .object([
                "mode": .string(ReadCapacity.Mode.dedicated.rawValue),
                "dedicated": .object(["node_type": .string(call.field("node_type")), "scaling": .string("Manual"), "manual": .object(manual)]),
            ])
        case let mode?: return .object(["mode": .string(mode)])
        }
    }

    static func describe(_ definition: IndexDefinition) -> [String: Any] {
        var deployment = ""
        var pod: (type: String, replicas: Int) = ("p1.x1", 1)
        switch definition.deployment {
        case .serverless(let cloud, let region): deployment = "serverless, \(cloud) \(region)"
        case .pod(let environment, let podType, let replicas, _, _):
            deployment = "pods, \(environment), \(podType) × \(replicas)"
            pod = (podType, replicas)
        case .byoc(let environment): deployment = "BYOC, \(environment)"
        }
        return [
            "name": definition.name, "vectorType": definition.vectorType.rawValue, "dimension": definition.dimension.map(String.init) ?? "—",
            "metric": definition.metric.rawValue, "status": definition.restoreJobID == nil ? "Ready" : "Initializing", "deployment": deployment,
            "protected": definition.deletionProtection == .enabled, "created": ConsolePages.date(definition.createdAt),
            "tags": definition.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "),
            "encoding": definition.vectorEncoding.rawValue, "isPod": definition.deployment.podCount > 0, "podType": pod.type, "podReplicas": pod.replicas,
            "readCapacity": definition.readCapacity.mode == .dedicated
                ? "dedicated, \(definition.readCapacity.nodeType ?? "b1") × \(definition.readCapacity.replicas ?? 1) replicas, \(definition.readCapacity.shards ?? 1) shards"
                : "on demand",
            "dedicated": definition.readCapacity.mode == .dedicated, "nodeType": definition.readCapacity.nodeType ?? "b1",
            "readReplicas": definition.readCapacity.replicas ?? 1, "readShards": definition.readCapacity.shards ?? 1,
            "cmek": definition.cmekID?.lowercasedString ?? "the server's master key",
        ]
    }

    @Sendable func indexesPage(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesRead)
        let info = try await admin.project(project, for: call.pass)
        var values = try await layout(call, title: "Indexes of \(info.name)")
        let definitions = try await indexes.list(pass).sorted { $0.name < $1.name }
        values["project"] = ["id": project.lowercasedString, "name": info.name]
        values["hasIndexes"] = !definitions.isEmpty
        values["indexes"] = definitions.map { Self.describe($0).merging(["path": indexPath(project, $0.name)]) { old, _ in old } }
        values["canWrite"] = call.pass.identity.permissions(inProject: project).contains(.indexesWrite)
        values["metrics"] = ConsolePages.options(Metric.allCases.map(\.rawValue), selected: [Metric.cosine.rawValue])
        values["encodings"] = ConsolePages.options(VectorEncoding.allCases.map(\.rawValue), selected: [VectorEncoding.float32.rawValue])
        values["capacityModes"] = ConsolePages.options(ReadCapacity.Mode.allCases.map(\.rawValue), selected: [ReadCapacity.Mode.onDemand.rawValue])
        values["nodeTypes"] = ConsolePages.options(IndexRules.dedicatedNodeTypes.sorted(), selected: ["b1"])
        // The project's customer-managed key, for a user who may see it: a project with one puts every index under it
        // (the form names it as the API's `cmek_id`).
        if let key = (try? await admin.cmekKeys(inProject: project, for: call.pass))?.first {
            values["cmekKey"] = ["id": key.id.lowercasedString, "name": key.name]
        }
        return ConsolePages.page("indexes", values)
    }

    /// Creates an index from the form, read as the 2026-07 API's create request.
    @Sendable func createIndex(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let name = call.field("name")
        var field: [String: JSONValue] = ["type": .string(call.field("vector_type") == "sparse" ? "sparse_vector" : "dense_vector")]
        if call.field("vector_type") != "sparse" {
            guard let dimension = Int(call.field("dimension")) else { throw ConiferError.invalidArgument("The dimension must be a whole number.") }
            field["dimension"] = .number(Double(dimension))
        }
        field["metric"] = .string(call.field("metric"))
        var fields: [String: JSONValue] = [call.field("vector_type") == "sparse" ? VectorField.sparse : VectorField.dense: .object(field)]
        // A dense index that also keeps sparse values (hybrid search).
        if call.field("vector_type") != "sparse", call.form["hybrid"] == "true" { fields[VectorField.sparse] = .object(["type": .string("sparse_vector")]) }
        // The deployment: serverless (cloud and region), pods (environment, pod type and counts) or BYOC (environment).
        let deploymentType = call.form["deployment_type"] ?? "managed"
        var deployment: [String: JSONValue] = ["deployment_type": .string(deploymentType)]
        switch deploymentType {
        case "pod":
            deployment["environment"] = .string(call.field("environment"))
            if !call.field("pod_type").isEmpty { deployment["pod_type"] = .string(call.field("pod_type")) }
            for (key, field) in [("replicas", "pod_replicas"), ("shards", "pod_shards"), ("pods", "pods")] {
                deployment[key] = try Self.count(call, field)
            }
        case "byoc":
            deployment["environment"] = .string(call.field("environment"))
        default:
            deployment["cloud"] = .string(call.field("cloud"))
            deployment["region"] = .string(call.field("region"))
        }
        if !call.field("vector_encoding").isEmpty { deployment["vector_encoding"] = .string(call.field("vector_encoding")) }
        var body: [String: JSONValue] = [
            "name": .string(name),
            "schema": .object(["fields": .object(fields)]),
            "deployment": .object(deployment),
            "deletion_protection": .string(call.form["deletion_protection"] == "true" ? "enabled" : "disabled"),
            "tags": .object(try Self.tags(call).mapValues(JSONValue.string)),
        ]
        if let capacity = try Self.readCapacity(call) { body["read_capacity"] = capacity }
        if !call.field("cmek_id").isEmpty { body["cmek_id"] = .string(call.field("cmek_id")) }
        let request = try RouteTable.decode(
            CreateIndexRequest2026.self, from: ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(body))), allowedKeys: CreateIndexRequest2026.allowedKeys
        )
        let creation = try request.domain()
        call.context.audit(id: .string(creation.name), name: creation.name)
        let definition = try await indexes.create(pass, creation)
        return ConsolePages.redirect(to: indexPath(project, definition.name))
    }

    /// The index: its settings, its statistics (for a user who may read data), configuration and deletion, and the
    /// query tool's form (its answer is `queryTool`'s page).
    @Sendable func indexPage(_ call: ConsoleCall) async throws -> Response {
        try await indexPage(call, answer: nil)
    }

    private func indexPage(_ call: ConsoleCall, answer: [String: Any]?) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesRead)
        let name = try call.parameter("index_name")
        let definition = try await indexes.describe(pass, name: name)
        let info = try await admin.project(project, for: call.pass)
        let permissions = call.pass.identity.permissions(inProject: project)
        var values = try await layout(call, title: definition.name)
        values["project"] = ["id": project.lowercasedString, "name": info.name]
        values["index"] = Self.describe(definition).merging(["path": indexPath(project, definition.name)]) { old, _ in old }
        values["tagLines"] = definition.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        values["canWrite"] = permissions.contains(.indexesWrite)
        values["canQuery"] = permissions.contains(.dataRead) && definition.restoreJobID == nil
        values["isDense"] = definition.vectorType == .dense
        if permissions.contains(.dataRead), definition.restoreJobID == nil {
            let dataPass = try call.pass.identity.principal(inProject: project).authorize(.dataRead)
            do {
                // The console is on the main listener: a private-only project's data plane refuses it, as it refuses the API there.
                let open = try await dataPlane.service.open(dataPass, DataPlaneService.IndexAddress(projectID: project.lowercasedString, name: definition.name))
                let statistics = try await dataPlane.service.statistics(open, filter: .everything)
                values["statistics"] = [
                    "records": statistics.namespaces.values.reduce(0, +),
                    "namespaces": statistics.namespaces.sorted { $0.key < $1.key }.map { ["name": $0.key.isEmpty ? "(default)" : $0.key, "records": $0.value] },
                ]
            } catch let error as ConiferError where error.code == .permissionDenied {
                values["dataUnavailable"] = error.message
                values["canQuery"] = false
            }
        }
        let (schedules, schedulesUnavailable) = try await scheduleRows(pass, index: definition.name, project: project)
        values["schedules"] = schedules
        values["hasSchedules"] = !schedules.isEmpty
        if let schedulesUnavailable { values["schedulesUnavailable"] = schedulesUnavailable }
        values["frequencies"] = ConsolePages.options(BackupSchedule.Frequency.allCases.map(\.rawValue), selected: [BackupSchedule.Frequency.daily.rawValue])
        if let answer { values["answer"] = answer }
        values["form"] = [
            "vector": call.field("vector"), "id": call.field("id"), "topK": call.form["top_k"] ?? "10", "namespace": call.field("namespace"),
            "filter": call.field("filter"),
        ]
        return ConsolePages.page("index", values)
    }

    @Sendable func configureIndex(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let name = try call.parameter("index_name")
        let current = try await indexes.describe(pass, name: name)
        var tags = try Self.tags(call)
        // Tags no longer in the form are removed (an empty value removes a tag).
        for key in current.tags.keys where tags[key] == nil { tags[key] = "" }
        let protection: DeletionProtection = call.form["deletion_protection"] == "true" ? .enabled : .disabled
        var change = IndexConfiguration(deletionProtection: protection == current.deletionProtection ? nil : protection, tags: tags.isEmpty ? nil : tags)
        // A pod index's replicas and pod type, another's read capacity, as the 2026-07 API's configure reads them.
        if current.deployment.podCount > 0 {
            change.podReplicas = try Self.whole(call, "pod_replicas")
            if !call.field("pod_type").isEmpty, case .pod(_, let podType, _, _, _) = current.deployment, call.field("pod_type") != podType {
                change.podType = call.field("pod_type")
            }
        } else if let capacity = try Self.readCapacity(call) {
            let requested = try JSONDecoder().decode(ReadCapacityRequest.self, from: JSONEncoder().encode(capacity)).domain()
            if requested != current.readCapacity { change.readCapacity = requested }
        }
        _ = try await indexes.configure(pass, name: name, change)
        return ConsolePages.redirect(to: indexPath(project, name))
    }

    /// Deletes the index once the form names it (deletion protection refuses it as the API does).
    @Sendable func deleteIndex(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let name = try call.parameter("index_name")
        guard call.field("confirm") == name else { throw ConiferError.invalidArgument("Type the index's name to confirm its deletion; nothing was deleted.") }
        call.context.audit(id: .string(name), name: name)
        _ = try await indexes.delete(pass, name: name)
        return ConsolePages.redirect(to: "/console/projects/\(project.lowercasedString)/indexes")
    }

    /// Runs the query tool's form (a GET: a query changes nothing) through the data-plane service, with the index's
    /// query rate limit and metering, and shows the matches and the read units used.
    @Sendable func queryTool(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .dataRead)
        let name = try call.parameter("index_name")
        var call = call
        // A GET form's fields, decoded as a form's (`+` is a space).
        call.form = ConsoleRequest.parse(call.request.uri.query ?? "")
        var body: [String: JSONValue] = ["includeMetadata": .bool(true)]
        guard let topK = Int(call.field("top_k")) else { throw ConiferError.invalidArgument("topK must be a whole number.") }
        body["topK"] = .number(Double(topK))
        if !call.field("namespace").isEmpty { body["namespace"] = .string(call.field("namespace")) }
        if !call.field("id").isEmpty { body["id"] = .string(call.field("id")) }
        if !call.field("vector").isEmpty {
            let numbers = call.field("vector").trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",")
            let values = try numbers.map { (text) throws(ConiferError) -> JSONValue in
                guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalidArgument("The vector must be numbers separated by commas.")
                }
                return .number(value)
            }
            body["vector"] = .array(values)
        }
        if !call.field("filter").isEmpty {
            guard let filter = try? JSONDecoder().decode(JSONValue.self, from: Data(call.field("filter").utf8)) else {
                throw ConiferError.invalidArgument("The filter must be a JSON object, e.g. {\"genre\": {\"$eq\": \"drama\"}}.")
            }
            body["filter"] = filter
        }
        let request = try JSONDecoder().decode(QueryRequestWire.self, from: JSONEncoder().encode(JSONValue.object(body)))
        let query = try DataPlaneController.query(request)
        let open = try await dataPlane.service.open(pass, DataPlaneService.IndexAddress(projectID: project.lowercasedString, name: name))
        try dataPlane.take(.query, open, namespace: query.namespace)
        let answer = try await dataPlane.service.query(open, query)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let matches = answer.matches.map { match -> [String: Any] in
            let metadata = match.record.metadata.isEmpty
                ? "" : (try? encoder.encode(match.record.metadata.mapValues(\.json))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return ["id": match.record.id, "score": String(format: "%.6f", match.score), "metadata": metadata]
        }
        return try await indexPage(call, answer: ["matches": matches, "hasMatches": !matches.isEmpty, "readUnits": Units.reported(answer.readUnits)])
    }
}

// MARK: The metrics tab

extension ConsoleController {
    private func window(_ call: ConsoleCall) -> MetricsHistory.Window {
        call.request.uri.queryParameters["window"].flatMap { MetricsHistory.Window(rawValue: String($0)) } ?? .hour
    }

    /// The metrics tab: records, requests per second, latency percentiles and units over the last hour or day, as charts drawn
    /// on the server (`metricsChart`), with the totals in words for readers who do not see them.
    @Sendable func metricsPage(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesRead)
        let (definition, history) = try await indexes.history(pass, name: try call.parameter("index_name"))
        let window = window(call)
        let buckets = history.window(window, now: Date())
        var latencies = MetricsHistory.Latencies()
        for bucket in buckets { latencies.merge(bucket.latencies) }
        let requests = buckets.reduce(0) { $0 + $1.requests.values.reduce(0, +) }
        var values = try await layout(call, title: "Metrics of \(definition.name)")
        let path = indexPath(project, definition.name)
        values["index"] = ["name": definition.name, "path": path]
        values["window"] = window == .hour ? "the last hour" : "the last day"
        values["windows"] = MetricsHistory.Window.allCases.map { ["name": $0 == .hour ? "Last hour" : "Last day", "query": $0.rawValue, "current": $0 == window] }
        values["charts"] = ConsoleCharts.names.map { ["src": "\(path)/metrics/\($0)?window=\(window.rawValue)", "name": $0] }
        values["summary"] = [
            "records": buckets.last?.records.map(String.init) ?? "—",
            "requests": requests,
            "p50": latencies.upperBound(quantile: 0.5).map(ConsoleCharts.format) ?? "—",
            "p99": latencies.upperBound(quantile: 0.99).map(ConsoleCharts.format) ?? "—",
            "readUnits": ConsoleCharts.format(buckets.reduce(0) { $0 + $1.readUnits }),
            "writeUnits": ConsoleCharts.format(buckets.reduce(0) { $0 + $1.writeUnits }),
        ]
        return ConsolePages.page("metrics", values)
    }

    /// One chart of the metrics tab as an SVG image.
    @Sendable func metricsChart(_ call: ConsoleCall) async throws -> Response {
        let (_, pass) = try projectPass(call, .indexesRead)
        let (_, history) = try await indexes.history(pass, name: try call.parameter("index_name"))
        let window = window(call)
        let name = try call.parameter("chart")
        guard let svg = ConsoleCharts.chart(name, history.window(window, now: Date()), window: window) else {
            throw ConiferError.notFound("Chart \(name.prefix(64)) not found; the charts are \(ConsoleCharts.names.joined(separator: ", ")).")
        }
        var headers = ConsolePages.securityHeaders
        headers[.contentType] = "image/svg+xml"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: svg)))
    }
}
