import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// The vector data plane of each index, under `/data/{project_id}/{index_name}` (the `host` of its index
/// model): each handler decodes the wire shape, calls one `DataPlaneService` method and encodes its result.
struct DataPlaneController {
    let service: DataPlaneService
    let maxRequestBytes: Int
    let limiter: RateLimiter
    /// Serving the private listener: requests are checked against the projects' private endpoints, from where
    /// their connections' PROXY headers say they come.
    var privateListener: ProxiedConnections?

    static let prefix = "/data/:project_id/:index_name"

    typealias Handler = @Sendable (DataPlaneController, AuthorizedCall, DataPlaneService.OpenIndex) async throws -> Response

    /// The data-plane operations: each route with the permission it needs, its rate-limit class and its handler.
    static let operations: [(method: HTTPRequest.Method, path: String, permission: Permission, rate: RateLimits.Operation, handler: Handler)] = [
        (.post, "vectors/upsert", .dataWrite, .upsert, { try await $0.upsert($1, $2) }),
        (.post, "query", .dataRead, .query, { try await $0.query($1, $2) }),
        (.get, "vectors/fetch", .dataRead, .fetch, { try await $0.fetch($1, $2) }),
        (.post, "vectors/fetch_by_metadata", .dataRead, .fetch, { try await $0.fetchByMetadata($1, $2) }),
        (.post, "vectors/update", .dataWrite, .update, { try await $0.update($1, $2) }),
        (.post, "vectors/delete", .dataWrite, .delete, { try await $0.delete($1, $2) }),
        (.get, "vectors/list", .dataRead, .list, { try await $0.list($1, $2) }),
        (.post, "describe_index_stats", .dataRead, .stats, { try await $0.stats($1, $2) }),
        (.get, "namespaces", .dataRead, .namespaces, { try await $0.listNamespaces($1, $2) }),
        (.post, "namespaces", .dataWrite, .namespaces, { try await $0.createNamespace($1, $2) }),
        (.get, "namespaces/:namespace", .dataRead, .namespaces, { try await $0.describeNamespace($1, $2) }),
        (.delete, "namespaces/:namespace", .dataWrite, .namespaces, { try await $0.deleteNamespace($1, $2) }),
        (.post, "records/namespaces/:namespace/upsert", .dataWrite, .upsert, unimplemented),
        (.post, "records/namespaces/:namespace/search", .dataRead, .query, unimplemented),
        (.get, "bulk/imports", .dataRead, .list, unimplemented),
        (.post, "bulk/imports", .dataWrite, .upsert, unimplemented),
        (.get, "bulk/imports/:import_id", .dataRead, .list, unimplemented),
        (.delete, "bulk/imports/:import_id", .dataWrite, .delete, unimplemented),
    ]

    func register(in routes: RouteTable) {
        for operation in Self.operations {
            let handler = operation.handler
            let rate = operation.rate
            routes.add(
                operation.method, "\(Self.prefix)/\(operation.path)", operation.permission, rate: .index(rate),
                audit: operation.permission.isRead ? nil : .exempt("the data plane is not audited, as in Pinecone")
            ) { [self] call in
                // The index first: a missing or invisible one answers 404 before the body is read. Then its rate
                // limit (keyed by the index, so only existing indexes get a bucket); a class counted per namespace
                // is taken by the handler once it knows the namespace.
                let address = DataPlaneService.IndexAddress(projectID: try call.parameter("project_id"), name: try call.parameter("index_name"))
                let index = try await service.open(call.pass, address, from: privateListener?.origin(of: call.context) ?? .publicListener)
                let limits = limiter.limits(plan: index.plan, project: index.rateLimits)
                if !limits.perNamespace.contains(rate) { try take(rate, index, limits) }
                return try await handler(self, call, index)
            }
        }
    }

    /// Takes the request from the index's bucket of `operation`.
    private func take(_ operation: RateLimits.Operation, _ index: DataPlaneService.OpenIndex, _ limits: RateLimits) throws(ConiferError) {
        try limiter.take(operation, key: index.definition.id.uuidString, what: "index \(index.definition.name)", limits: limits)
    }

    /// Takes the request from the bucket its limits count it in, the index's or its namespace's, where the routes
    /// take it in two steps (the index's before the body is read); throws 429 without taking anything.
    func take(_ operation: RateLimits.Operation, _ index: DataPlaneService.OpenIndex, namespace: DataPlaneService.NamespaceName) throws(ConiferError) {
        let limits = limiter.limits(plan: index.plan, project: index.rateLimits)
        if limits.perNamespace.contains(operation) { try admit(operation, index, namespace) } else { try take(operation, index, limits) }
    }

    /// Takes the request from its namespace's bucket when `operation` is counted per namespace.
    func admit(_ operation: RateLimits.Operation, _ index: DataPlaneService.OpenIndex, _ namespace: DataPlaneService.NamespaceName) throws(ConiferError) {
        let limits = limiter.limits(plan: index.plan, project: index.rateLimits)
        guard limits.perNamespace.contains(operation), (limits.perSecond[operation] ?? 0) > 0 else { return }
        try limiter.take(
            operation, key: "\(index.definition.id.uuidString)\u{0}\(namespace.display)", what: "namespace \(namespace.display) of index \(index.definition.name)",
            limits: limits
        )
    }

    /// Routes of Pinecone's API that this version does not serve yet: an explicit 501 after authorization.
    static func unimplemented(_: DataPlaneController, _ call: AuthorizedCall, _: DataPlaneService.OpenIndex) async throws -> Response {
        throw ConiferError(.unimplemented, "\(call.request.method.rawValue) \(call.request.uri.path) is not available in this version of Conifer yet.")
    }

    // MARK: Vectors

    func upsert(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(UpsertRequestWire.self, limit: maxRequestBytes)
        let namespace = try DataPlaneService.NamespaceName(body.namespace)
        try admit(.upsert, index, namespace)
        let records = try body.vectors.map { try $0.domain() }
        let count = try await service.upsert(index, namespace: namespace, records: records)
        return try WireJSON.response(status: .ok, UpsertResponseWire(upsertedCount: count))
    }

    func query(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(QueryRequestWire.self, limit: maxRequestBytes)
        let query = try Self.query(body)
        try admit(.query, index, query.namespace)
        return try WireJSON.response(status: .ok, Self.answer(body, try await service.query(index, query)))
    }

    /// The service's query for a request body.
    static func query(_ body: QueryRequestWire) throws -> DataPlaneService.Query {
        guard body.queries == nil else {
            throw ConiferError.invalidArgument("The deprecated 'queries' parameter is not supported; send one query per request.")
        }
        return DataPlaneService.Query(
            namespace: try DataPlaneService.NamespaceName(body.namespace), topK: body.topK, vector: body.vector,
            sparse: try body.sparseVector?.domain(), id: body.id, filter: try Self.filter(body.filter),
            includesData: (body.includeValues ?? false) || (body.includeMetadata ?? false)
        )
    }

    /// The answer to a query request.
    static func answer(_ body: QueryRequestWire, _ answer: DataPlaneService.QueryAnswer) -> QueryResponseWire {
        let (includeValues, includeMetadata) = (body.includeValues ?? false, body.includeMetadata ?? false)
        let matches = answer.matches.map {
            VectorOutWire($0.record, score: $0.score, includeValues: includeValues, includeMetadata: includeMetadata)
        }
        return QueryResponseWire(matches: matches, namespace: body.namespace ?? "", usage: UsageWire(readUnits: Units.reported(answer.readUnits)))
    }

    func fetch(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let namespace = parameters["namespace"].map(String.init)
        let ids = parameters[values: "ids"].map(String.init)
        let fetched = try await service.fetch(index, namespace: try DataPlaneService.NamespaceName(namespace), ids: ids)
        let vectors = Dictionary(fetched.records.map { ($0.id, VectorOutWire($0)) }, uniquingKeysWith: { first, _ in first })
        return try WireJSON.response(
            status: .ok, FetchResponseWire(vectors: vectors, namespace: namespace ?? "", usage: UsageWire(readUnits: Units.reported(fetched.readUnits)))
        )
    }

    func fetchByMetadata(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(FetchByMetadataRequestWire.self, limit: maxRequestBytes)
        let page = try await service.fetch(
            index, namespace: try DataPlaneService.NamespaceName(body.namespace), matching: try Self.filter(body.filter),
            limit: body.limit ?? 100, after: try PageToken.parse(body.paginationToken)
        )
        return try WireJSON.response(status: .ok, FetchResponseWire(
            vectors: Dictionary(page.items.map { ($0.id, VectorOutWire($0)) }, uniquingKeysWith: { first, _ in first }),
            namespace: body.namespace ?? "", usage: UsageWire(readUnits: Units.reported(page.readUnits)),
            pagination: PageToken.pagination(page.nextAfter)
        ))
    }

    func update(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(UpdateRequestWire.self, limit: maxRequestBytes)
        let namespace = try DataPlaneService.NamespaceName(body.namespace)
        try admit(.update, index, namespace)
        let setMetadata = try body.setMetadata.map { (m) throws(ConiferError) in try Metadata.validated(m) }
        let update: DataPlaneService.Update
        if body.filter != nil {
            guard body.id == nil else { throw ConiferError.invalidArgument("An update takes either id or filter, not both.") }
            guard body.values == nil, body.sparseValues == nil else {
                throw ConiferError.invalidArgument("An update by filter can only set metadata; values and sparseValues need an id.")
            }
            guard let setMetadata else { throw ConiferError.invalidArgument("An update by filter needs setMetadata.") }
            update = .byFilter(try Self.filter(body.filter), setMetadata: setMetadata, dryRun: body.dryRun ?? false)
        } else {
            guard let id = body.id else { throw ConiferError.invalidArgument("An update needs an id or a filter.") }
            update = .byID(id: id, values: body.values, sparse: try body.sparseValues?.domain(), setMetadata: setMetadata)
        }
        guard let matched = try await service.update(index, namespace: namespace, update) else {
            return try WireJSON.response(status: .ok, EmptyWire())
        }
        return try WireJSON.response(status: .ok, UpdateResponseWire(matchedRecords: matched))
    }

    func delete(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(DeleteRequestWire.self, limit: maxRequestBytes)
        let deleteAll = body.deleteAll ?? false
        guard [body.ids != nil, deleteAll, body.filter != nil].filter({ $0 }).count == 1 else {
            throw ConiferError.invalidArgument("A delete takes exactly one of ids, deleteAll or filter.")
        }
        let namespace = try DataPlaneService.NamespaceName(body.namespace)
        try admit(.delete, index, namespace)
        let deletion: DataPlaneService.Deletion = if let ids = body.ids { .ids(ids) } else if deleteAll { .all } else { .matching(try Self.filter(body.filter)) }
        try await service.delete(index, namespace: namespace, deletion)
        return try WireJSON.response(status: .ok, EmptyWire())
    }

    func list(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let namespace = parameters["namespace"].map(String.init)
        let page = try await service.list(
            index, namespace: try DataPlaneService.NamespaceName(namespace), prefix: parameters["prefix"].map(String.init) ?? "",
            limit: try Self.limit(parameters["limit"], default: DataLimits.maxListLimit, max: DataLimits.maxListLimit),
            after: try PageToken.parse(parameters["paginationToken"].map(String.init))
        )
        return try WireJSON.response(status: .ok, ListResponseWire(
            vectors: page.items.map { .init(id: $0) }, pagination: PageToken.pagination(page.nextAfter),
            namespace: namespace ?? "", usage: UsageWire(readUnits: Units.reported(page.readUnits))
        ))
    }

    func stats(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        var request = call.request
        let raw = try await request.boundedBody(upTo: maxRequestBytes)
        let body = raw.readableBytes == 0 ? StatsRequestWire() : try WireJSON.decode(StatsRequestWire.self, from: Data(raw.readableBytesView))
        let statistics = try await service.statistics(index, filter: try Self.filter(body.filter))
        let definition = statistics.definition
        return try WireJSON.response(status: .ok, StatsResponseWire(
            namespaces: statistics.namespaces.mapValues { .init(vectorCount: $0) }, dimension: definition.dimension, indexFullness: 0,
            totalVectorCount: statistics.namespaces.values.reduce(0, +), metric: definition.metric.rawValue, vectorType: definition.vectorType.rawValue
        ))
    }

    // MARK: Namespaces

    func listNamespaces(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let listed = try await service.namespaces(
            index, prefix: parameters["prefix"].map(String.init) ?? "",
            limit: try Self.limit(parameters["limit"], default: 100, max: 100),
            after: try PageToken.parse(parameters["paginationToken"].map(String.init))
        )
        return try WireJSON.response(status: .ok, NamespaceListWire(
            namespaces: listed.page.items.map { NamespaceDescriptionWire(name: $0.name, record_count: String($0.records)) },
            pagination: PageToken.pagination(listed.page.nextAfter), total_count: listed.total
        ))
    }

    func createNamespace(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let body = try await call.decode(CreateNamespaceRequestWire.self, limit: maxRequestBytes)
        try await service.createNamespace(index, name: body.name)
        return try WireJSON.response(status: .created, NamespaceDescriptionWire(name: body.name, record_count: "0"))
    }

    func describeNamespace(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        let namespace = try DataPlaneService.NamespaceName(try call.parameter("namespace"))
        let count = try await service.describeNamespace(index, namespace)
        return try WireJSON.response(status: .ok, NamespaceDescriptionWire(name: namespace.display, record_count: String(count)))
    }

    func deleteNamespace(_ call: AuthorizedCall, _ index: DataPlaneService.OpenIndex) async throws -> Response {
        try await service.deleteNamespace(index, try DataPlaneService.NamespaceName(try call.parameter("namespace")))
        return try WireJSON.response(status: .ok, EmptyWire())
    }

    // MARK: Wire helpers

    /// A filter as sent; absent means none (the service refuses an empty one where one is required).
    static func filter(_ json: JSONValue?) throws(ConiferError) -> MetadataFilter {
        try json.map { (json) throws(ConiferError) in try MetadataFilter.parse(json) } ?? .everything
    }

    static func limit(_ raw: Substring?, default defaultValue: Int, max: Int) throws(ConiferError) -> Int {
        guard let raw else { return defaultValue }
        guard let value = Int(raw), (1...max).contains(value) else {
            throw .invalidArgument("limit must be an integer between 1 and \(max), got '\(raw.prefix(16))'.")
        }
        return value
    }
}
