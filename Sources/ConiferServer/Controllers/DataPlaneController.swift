import ConiferAccess
import ConiferCore
import ConiferIndex
import ConiferStorage
import Foundation
import Hummingbird

/// The vector data plane of each index, under `/data/{project_id}/{index_name}` (the `host` of its index model).
///
/// Every route resolves its index within the caller's project first: an index of another project answers
/// exactly like a missing one. Requests are validated completely before anything is written, and a batch
/// is stored whole or not at all.
struct DataPlaneController {
    let catalog: any Catalog
    let registry: StoreRegistry
    let maxRequestBytes: Int
    /// Where namespace scans run, off the request threads.
    let scans = ScanThreads()

    static let prefix = "/data/:project_id/:index_name"

    /// The data-plane operations, with the permission each needs.
    static let operations: [(method: HTTPRequest.Method, path: String, permission: Permission)] = [
        (.post, "vectors/upsert", .dataWrite),
        (.post, "query", .dataRead),
        (.get, "vectors/fetch", .dataRead),
        (.post, "vectors/fetch_by_metadata", .dataRead),
        (.post, "vectors/update", .dataWrite),
        (.post, "vectors/delete", .dataWrite),
        (.get, "vectors/list", .dataRead),
        (.post, "describe_index_stats", .dataRead),
        (.get, "namespaces", .dataRead),
        (.post, "namespaces", .dataWrite),
        (.get, "namespaces/:namespace", .dataRead),
        (.delete, "namespaces/:namespace", .dataWrite),
        (.post, "records/namespaces/:namespace/upsert", .dataWrite),
        (.post, "records/namespaces/:namespace/search", .dataRead),
        (.get, "bulk/imports", .dataRead),
        (.post, "bulk/imports", .dataWrite),
        (.get, "bulk/imports/:import_id", .dataRead),
        (.delete, "bulk/imports/:import_id", .dataWrite),
    ]

    /// The index a request addresses and its store.
    struct Target {
        var definition: IndexDefinition
        var store: IndexStore
    }

    typealias Handler = @Sendable (AuthorizedCall, Target) async throws -> Response

    func register(in routes: RouteTable) {
        for operation in Self.operations {
            let handler = self.handler(for: operation.path)
            let permission = operation.permission
            routes.add(operation.method, "\(Self.prefix)/\(operation.path)", permission) { call in
                let definition = try await Self.resolveIndex(call, catalog: catalog, permission: permission)
                let store = try await registry.store(for: definition.id)
                return try await handler(call, Target(definition: definition, store: store))
            }
        }
    }

    private func handler(for path: String) -> Handler {
        switch path {
        case "vectors/upsert": upsert
        case "query": query
        case "vectors/fetch": fetch
        case "vectors/fetch_by_metadata": fetchByMetadata
        case "vectors/update": update
        case "vectors/delete": delete
        case "vectors/list": list
        case "describe_index_stats": stats
        default: { [self] call, target in try await namespaceOrUnavailable(path, call, target) }
        }
    }

    /// The index a data-plane path names, if it belongs to the caller's project.
    static func resolveIndex(_ call: AuthorizedCall, catalog: any Catalog, permission: Permission) async throws -> IndexDefinition {
        let projectID = try call.parameter("project_id")
        let name = try call.parameter("index_name")
        guard projectID == call.principal.projectID.lowercasedString else {
            throw ConiferError.indexNotFound(name)
        }
        return try await catalog.index(named: name, for: call.principal, as: permission)
    }

    // MARK: Vectors

    @Sendable func upsert(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(UpsertRequestWire.self, limit: maxRequestBytes)
        let namespace = try Self.namespace(body.namespace)
        guard (1...DataLimits.maxUpsertBatch).contains(body.vectors.count) else {
            throw ConiferError.invalidArgument("An upsert carries 1 to \(DataLimits.maxUpsertBatch) vectors, got \(body.vectors.count).")
        }
        var records: [VectorRecord] = []
        records.reserveCapacity(body.vectors.count)
        for vector in body.vectors {
            let record = try vector.domain()
            try target.definition.validate(record)
            records.append(record)
        }
        let result = try await target.store.write(.upsert(namespace: namespace, records: records))
        return try WireJSON.response(status: .ok, UpsertResponseWire(upsertedCount: result.matchedRecords))
    }

    @Sendable func query(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(QueryRequestWire.self, limit: maxRequestBytes)
        guard body.queries == nil else {
            throw ConiferError.invalidArgument("The deprecated 'queries' parameter is not supported; send one query per request.")
        }
        guard (1...DataLimits.maxTopK).contains(body.topK) else {
            throw ConiferError.invalidArgument("topK must be between 1 and \(DataLimits.maxTopK), got \(body.topK).")
        }
        if body.includeValues == true || body.includeMetadata == true, body.topK > DataLimits.maxTopKWithData {
            throw ConiferError.invalidArgument(
                "topK must be at most \(DataLimits.maxTopKWithData) when includeValues or includeMetadata is true, got \(body.topK)."
            )
        }
        let namespace = try Self.namespace(body.namespace)
        let filter = try Self.filter(body.filter, required: false)
        let definition = target.definition
        var vector = body.vector
        var sparse = try body.sparseVector?.domain()
        let state = try await target.store.snapshot()
        if let id = body.id {
            guard vector == nil, sparse == nil else {
                throw ConiferError.invalidArgument("A query takes exactly one of vector, sparseVector or id.")
            }
            try DataLimits.validateID(id)
            guard let stored = state.record(namespace: namespace, id: id) else {
                return try WireJSON.response(status: .ok, QueryResponseWire(matches: [], namespace: body.namespace ?? "", usage: UsageWire(readUnits: 1)))
            }
            vector = stored.values.isEmpty ? nil : stored.values
            sparse = definition.vectorType == .sparse ? stored.sparse : nil
        }
        switch definition.vectorType {
        case .dense:
            guard let values = vector else {
                throw ConiferError.invalidArgument("A query on a dense index needs a vector (or an id).")
            }
            try DataLimits.validateDense(values, dimension: definition.dimension ?? 0)
            if sparse != nil { try definition.requireSparseSupport() }
        case .sparse:
            guard vector == nil else { throw ConiferError.invalidArgument("A sparse index is queried with sparseVector, not vector.") }
            guard let sparse, !sparse.indices.isEmpty else {
                throw ConiferError.invalidArgument("A query on a sparse index needs a non-empty sparseVector (or an id).")
            }
        }
        let namespaceState = state.namespaces[namespace]
        let search = SearchQuery(vector: vector, sparse: sparse, topK: body.topK, filter: filter)
        let results = await scans.run { ExactSearch.search(namespaceState, query: search, metric: definition.metric) }
        let records = state.namespaces[namespace]?.records
        let matches = results.compactMap { result in
            records?[result.id].map {
                VectorOutWire($0.record, score: result.score, includeValues: body.includeValues ?? false, includeMetadata: body.includeMetadata ?? false)
            }
        }
        return try WireJSON.response(status: .ok, QueryResponseWire(matches: matches, namespace: body.namespace ?? "", usage: UsageWire(readUnits: 1)))
    }

    @Sendable func fetch(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let rawNamespace = parameters["namespace"].map(String.init)
        let namespace = try Self.namespace(rawNamespace)
        let ids = parameters[values: "ids"].map(String.init)
        guard (1...DataLimits.maxIDsPerRequest).contains(ids.count) else {
            throw ConiferError.invalidArgument("fetch takes 1 to \(DataLimits.maxIDsPerRequest) ids, got \(ids.count).")
        }
        for id in ids { try DataLimits.validateID(id) }
        let state = try await target.store.snapshot()
        var vectors: [String: VectorOutWire] = [:]
        for id in ids {
            if let record = state.record(namespace: namespace, id: id) { vectors[id] = VectorOutWire(record) }
        }
        return try WireJSON.response(status: .ok, FetchResponseWire(vectors: vectors, namespace: rawNamespace ?? "", usage: UsageWire(readUnits: 1)))
    }

    @Sendable func fetchByMetadata(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(FetchByMetadataRequestWire.self, limit: maxRequestBytes)
        let namespace = try Self.namespace(body.namespace)
        let filter = try Self.filter(body.filter, required: true)
        let limit = body.limit ?? 100
        guard (1...DataLimits.maxFetchByMetadataLimit).contains(limit) else {
            throw ConiferError.invalidArgument("limit must be between 1 and \(DataLimits.maxFetchByMetadataLimit), got \(limit).")
        }
        let after = try PageToken.parse(body.paginationToken)
        let state = try await target.store.snapshot()
        let records = state.namespaces[namespace]?.records ?? [:]
        let matching = await scans.run { records.filter { filter.matches($0.value.record.metadata) }.keys.sorted() }
        let page = PageToken.page(matching, after: after, limit: limit)
        var vectors: [String: VectorOutWire] = [:]
        for id in page.keys { vectors[id] = records[id].map { VectorOutWire($0.record) } }
        return try WireJSON.response(status: .ok, FetchResponseWire(
            vectors: vectors, namespace: body.namespace ?? "", usage: UsageWire(readUnits: 1), pagination: page.next.map(PaginationWire.init)
        ))
    }

    @Sendable func update(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(UpdateRequestWire.self, limit: maxRequestBytes)
        let namespace = try Self.namespace(body.namespace)
        let definition = target.definition
        let setMetadata = try body.setMetadata.map { (m) throws(ConiferError) in try Metadata.validated(m) }
        if body.filter != nil {
            guard body.id == nil else { throw ConiferError.invalidArgument("An update takes either id or filter, not both.") }
            guard body.values == nil, body.sparseValues == nil else {
                throw ConiferError.invalidArgument("An update by filter can only set metadata; values and sparseValues need an id.")
            }
            let filter = try Self.filter(body.filter, required: true)
            guard let setMetadata else { throw ConiferError.invalidArgument("An update by filter needs setMetadata.") }
            let result = try await target.store.write(
                .updateByFilter(namespace: namespace, filter: filter, setMetadata: setMetadata, dryRun: body.dryRun ?? false)
            )
            return try WireJSON.response(status: .ok, UpdateResponseWire(matchedRecords: result.matchedRecords))
        }
        guard let id = body.id else { throw ConiferError.invalidArgument("An update needs an id or a filter.") }
        try DataLimits.validateID(id)
        guard body.values != nil || body.sparseValues != nil || setMetadata != nil else {
            throw ConiferError.invalidArgument("An update needs values, sparseValues or setMetadata.")
        }
        if let values = body.values {
            guard definition.vectorType == .dense else { throw ConiferError.invalidArgument("A sparse index has no dense values to update.") }
            try DataLimits.validateDense(values, dimension: definition.dimension ?? 0)
        }
        let sparse = try body.sparseValues?.domain()
        if sparse != nil { try definition.requireSparseSupport() }
        if definition.vectorType == .sparse, let sparse, sparse.indices.isEmpty {
            throw ConiferError.invalidArgument("A sparse index needs non-empty sparse values.")
        }
        _ = try await target.store.write(.updateByID(namespace: namespace, id: id, values: body.values, sparse: sparse, setMetadata: setMetadata))
        return try WireJSON.response(status: .ok, EmptyWire())
    }

    @Sendable func delete(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(DeleteRequestWire.self, limit: maxRequestBytes)
        let namespace = try Self.namespace(body.namespace)
        let deleteAll = body.deleteAll ?? false
        guard [body.ids != nil, deleteAll, body.filter != nil].filter({ $0 }).count == 1 else {
            throw ConiferError.invalidArgument("A delete takes exactly one of ids, deleteAll or filter.")
        }
        let request: WriteRequest
        if let ids = body.ids {
            guard (1...DataLimits.maxIDsPerRequest).contains(ids.count) else {
                throw ConiferError.invalidArgument("A delete takes 1 to \(DataLimits.maxIDsPerRequest) ids, got \(ids.count).")
            }
            for id in ids { try DataLimits.validateID(id) }
            request = .deleteIDs(namespace: namespace, ids: ids)
        } else if deleteAll {
            request = .deleteAll(namespace: namespace)
        } else {
            request = .deleteByFilter(namespace: namespace, filter: try Self.filter(body.filter, required: true))
        }
        _ = try await target.store.write(request)
        return try WireJSON.response(status: .ok, EmptyWire())
    }

    @Sendable func list(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let rawNamespace = parameters["namespace"].map(String.init)
        let namespace = try Self.namespace(rawNamespace)
        let prefix = parameters["prefix"].map(String.init) ?? ""
        let limit = try Self.limit(parameters["limit"], default: DataLimits.maxListLimit, max: DataLimits.maxListLimit)
        let after = try PageToken.parse(parameters["paginationToken"].map(String.init))
        let state = try await target.store.snapshot()
        let ids = (state.namespaces[namespace]?.records.keys.filter { $0.hasPrefix(prefix) } ?? []).sorted()
        let page = PageToken.page(ids, after: after, limit: limit)
        return try WireJSON.response(status: .ok, ListResponseWire(
            vectors: page.keys.map { .init(id: $0) }, pagination: page.next.map(PaginationWire.init),
            namespace: rawNamespace ?? "", usage: UsageWire(readUnits: 1)
        ))
    }

    @Sendable func stats(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        var request = call.request
        let raw = try await request.collectBody(upTo: maxRequestBytes)
        let body = raw.readableBytes == 0 ? StatsRequestWire() : try WireJSON.decode(StatsRequestWire.self, from: Data(raw.readableBytesView))
        let filter = try Self.filter(body.filter, required: false)
        let state = try await target.store.snapshot()
        var namespaces: [String: StatsResponseWire.NamespaceSummary] = [:]
        for (name, namespace) in state.namespaces {
            let count = filter.isEmpty ? namespace.records.count : namespace.records.values.count { filter.matches($0.record.metadata) }
            namespaces[name] = .init(vectorCount: count)
        }
        let definition = target.definition
        return try WireJSON.response(status: .ok, StatsResponseWire(
            namespaces: namespaces, dimension: definition.dimension, indexFullness: 0,
            totalVectorCount: namespaces.values.reduce(0) { $0 + $1.vectorCount },
            metric: definition.metric.rawValue, vectorType: definition.vectorType.rawValue
        ))
    }

    // MARK: Namespaces

    private func namespaceOrUnavailable(_ path: String, _ call: AuthorizedCall, _ target: Target) async throws -> Response {
        switch (call.request.method, path) {
        case (.get, "namespaces"): return try await listNamespaces(call, target)
        case (.post, "namespaces"): return try await createNamespace(call, target)
        case (.get, "namespaces/:namespace"): return try await describeNamespace(call, target)
        case (.delete, "namespaces/:namespace"): return try await deleteNamespace(call, target)
        default:
            throw ConiferError(.unimplemented, "\(call.request.method.rawValue) /\(path) is not available in this version of Conifer yet.")
        }
    }

    func listNamespaces(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let parameters = call.request.uri.queryParameters
        let prefix = parameters["prefix"].map(String.init) ?? ""
        let limit = try Self.limit(parameters["limit"], default: 100, max: 100)
        let after = try PageToken.parse(parameters["paginationToken"].map(String.init))
        let state = try await target.store.snapshot()
        let names = state.namespaces.keys.map(Self.displayName).filter { $0.hasPrefix(prefix) }.sorted()
        let page = PageToken.page(names, after: after, limit: limit)
        let descriptions = page.keys.map { name in
            NamespaceDescriptionWire(name: name, record_count: String(state.namespaces[Self.storedName(name)]?.records.count ?? 0))
        }
        return try WireJSON.response(status: .ok, NamespaceListWire(namespaces: descriptions, pagination: page.next.map(PaginationWire.init), total_count: names.count))
    }

    func createNamespace(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let body = try await call.decode(CreateNamespaceRequestWire.self, limit: maxRequestBytes)
        guard !body.name.isEmpty, body.name != "__default__" else {
            throw ConiferError.invalidArgument("A namespace name must be non-empty and must not be __default__.")
        }
        try DataLimits.validateNamespace(body.name)
        _ = try await target.store.write(.createNamespace(body.name))
        return try WireJSON.response(status: .created, NamespaceDescriptionWire(name: body.name, record_count: "0"))
    }

    func describeNamespace(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let name = try Self.namespace(try call.parameter("namespace"))
        guard let namespace = try await target.store.snapshot().namespaces[name] else {
            throw ConiferError.notFound("Namespace \(Self.displayName(name)) not found.")
        }
        return try WireJSON.response(status: .ok, NamespaceDescriptionWire(name: Self.displayName(name), record_count: String(namespace.records.count)))
    }

    func deleteNamespace(_ call: AuthorizedCall, _ target: Target) async throws -> Response {
        let name = try Self.namespace(try call.parameter("namespace"))
        _ = try await target.store.write(.deleteNamespace(name))
        return try WireJSON.response(status: .ok, EmptyWire())
    }

    // MARK: Helpers

    /// The stored namespace for a requested one: absent and `__default__` mean the default namespace "".
    static func namespace(_ raw: String?) throws(ConiferError) -> String {
        let name = storedName(raw ?? "")
        try DataLimits.validateNamespace(name)
        return name
    }

    static func storedName(_ name: String) -> String { name == "__default__" ? "" : name }
    static func displayName(_ name: String) -> String { name.isEmpty ? "__default__" : name }

    static func filter(_ json: JSONValue?, required: Bool) throws(ConiferError) -> MetadataFilter {
        guard let json else {
            if required { throw .invalidArgument("A non-empty metadata filter is required.") }
            return .everything
        }
        let filter = try MetadataFilter.parse(json)
        if required, filter.isEmpty { throw .invalidArgument("A non-empty metadata filter is required.") }
        return filter
    }

    static func limit(_ raw: Substring?, default defaultValue: Int, max: Int) throws(ConiferError) -> Int {
        guard let raw else { return defaultValue }
        guard let value = Int(raw), (1...max).contains(value) else {
            throw .invalidArgument("limit must be an integer between 1 and \(max), got '\(raw.prefix(16))'.")
        }
        return value
    }
}
