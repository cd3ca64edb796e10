import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// Collections (`/collections`, `/collections/{name}`), with the control plane's roles like backups; an index
/// is created from one with `spec.pod.source_collection` (`IndexesController`).
struct CollectionsController {
    let backups: BackupService

    func register(in routes: RouteTable) {
        routes.add(.post, "/collections", .indexesWrite, audit: .kind(.createCollection), handler: create)
        routes.add(.get, "/collections", .indexesRead, handler: list)
        routes.add(.get, "/collections/:collection_name", .indexesRead, handler: describe)
        routes.add(.delete, "/collections/:collection_name", .indexesWrite, audit: .kind(.deleteCollection), handler: delete)
    }

    @Sendable func create(_ call: AuthorizedCall) async throws -> Response {
        let body = try await call.decode(CreateCollectionRequestWire.self, allowedKeys: CreateCollectionRequestWire.fields)
        call.context.audit(id: .string(body.name), name: body.name, ["source": .string(body.source)])
        let collection = try await backups.createCollection(call.pass, name: body.name, sourceIndex: body.source)
        return try WireJSON.response(status: .created, CollectionWire(collection))
    }

    @Sendable func list(_ call: AuthorizedCall) async throws -> Response {
        try WireJSON.response(status: .ok, ["collections": try await backups.collections(call.pass).map(CollectionWire.init)])
    }

    @Sendable func describe(_ call: AuthorizedCall) async throws -> Response {
        try WireJSON.response(status: .ok, CollectionWire(try await backups.collection(call.pass, name: try call.parameter("collection_name"))))
    }

    @Sendable func delete(_ call: AuthorizedCall) async throws -> Response {
        let name = try call.parameter("collection_name")
        call.context.audit(id: .string(name), name: name)
        try await backups.deleteCollection(call.pass, name: name)
        return WireJSON.empty(status: .accepted)
    }
}

struct CreateCollectionRequestWire: Decodable {
    static let fields: Set<String> = ["name", "source"]
    var name: String
    var source: String
}

/// `CollectionModel`.
struct CollectionWire: Encodable {
    var name: String
    var status = "Ready"
    var environment: String
    var size: Int
    var dimension: Int?
    var vector_count: Int

    init(_ collection: BackupRecord) {
        name = collection.name
        environment = if case .pod(let environment, _, _, _, _) = collection.source.deployment { environment } else { collection.source.region }
        size = collection.sizeBytes
        dimension = collection.source.dimension
        vector_count = collection.recordCount
    }
}
