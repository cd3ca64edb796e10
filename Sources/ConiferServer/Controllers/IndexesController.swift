import ConiferAccess
import ConiferCore
import ConiferDatabase
import Hummingbird

/// The control plane for indexes: `/indexes` and `/indexes/{name}` in every API dialect.
struct IndexesController {
    let indexes: IndexService
    /// Creates indexes from collections.
    let backups: BackupService
    let hosts: IndexHosts

    func register(in routes: RouteTable) {
        routes.add(.get, "/indexes", .indexesRead, handler: list)
        routes.add(.post, "/indexes", .indexesWrite, audit: .kind(.createIndex), handler: create)
        routes.add(.get, "/indexes/:index_name", .indexesRead, handler: describe)
        routes.add(.patch, "/indexes/:index_name", .indexesWrite, audit: .kind(.configureIndex), handler: configure)
        routes.add(.delete, "/indexes/:index_name", .indexesWrite, audit: .kind(.deleteIndex), handler: delete)
    }

    @Sendable func list(_ call: AuthorizedCall) async throws -> Response {
        let indexes = try await indexes.list(call.pass)
        let regions = try await endpointRegions(call)
        return try WireJSON.response(status: .ok, IndexListWire(indexes: indexes.map { model($0, call.version, regions) }))
    }

    @Sendable func create(_ call: AuthorizedCall) async throws -> Response {
        let creation: IndexCreation
        switch call.version {
        case .v2025_04, .v2025_10:
            creation = try await call.decode(LegacyCreateIndexRequest.self).domain()
        case .v2026_07:
            creation = try await call.decode(CreateIndexRequest2026.self, allowedKeys: CreateIndexRequest2026.allowedKeys).domain()
        }
        call.context.audit(id: .string(creation.name), name: creation.name)
        let definition = if creation.sourceCollection != nil {
            try await backups.createIndex(call.pass, fromCollection: creation)
        } else {
            try await indexes.create(call.pass, creation)
        }
        return try WireJSON.response(status: .created, model(definition, call.version, try await endpointRegions(call)))
    }

    @Sendable func describe(_ call: AuthorizedCall) async throws -> Response {
        let definition = try await indexes.describe(call.pass, name: try call.parameter("index_name"))
        return try WireJSON.response(status: .ok, model(definition, call.version, try await endpointRegions(call)))
    }

    @Sendable func configure(_ call: AuthorizedCall) async throws -> Response {
        let name = try call.parameter("index_name")
        let change: IndexConfiguration
        let status: HTTPResponse.Status
        switch call.version {
        case .v2025_04, .v2025_10:
            change = try await call.decode(LegacyConfigureIndexRequest.self).domain()
            status = .accepted
        case .v2026_07:
            change = try await call.decode(ConfigureIndexRequest2026.self, allowedKeys: ConfigureIndexRequest2026.allowedKeys).domain()
            status = .ok
        }
        let definition = try await indexes.configure(call.pass, name: name, change)
        return try WireJSON.response(status: status, model(definition, call.version, try await endpointRegions(call)))
    }

    @Sendable func delete(_ call: AuthorizedCall) async throws -> Response {
        _ = try await indexes.delete(call.pass, name: try call.parameter("index_name"))
        return WireJSON.empty(status: .accepted)
    }

    /// The regions where the caller's project has private endpoints (none to look up without a private listener).
    private func endpointRegions(_ call: AuthorizedCall) async throws -> Set<String> {
        hosts.hasPrivateListener ? try await indexes.privateEndpointRegions(call.pass) : []
    }

    private func model(_ definition: IndexDefinition, _ version: APIVersion, _ endpointRegions: Set<String>) -> IndexModelWire {
        let host = hosts.host(for: definition)
        let privateHost = hosts.privateHost(for: definition, endpointRegions: endpointRegions)
        switch version {
        case .v2025_04, .v2025_10: return .legacy(LegacyIndexModel(definition: definition, host: host, privateHost: privateHost, version: version))
        case .v2026_07: return .current(IndexModel2026(definition: definition, host: host, privateHost: privateHost))
        }
    }
}

/// An index model in the dialect of the request.
enum IndexModelWire: Encodable {
    case legacy(LegacyIndexModel)
    case current(IndexModel2026)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .legacy(let model): try model.encode(to: encoder)
        case .current(let model): try model.encode(to: encoder)
        }
    }
}

/// `{"indexes":[IndexModel]}`
struct IndexListWire: Encodable {
    var indexes: [IndexModelWire]
}
