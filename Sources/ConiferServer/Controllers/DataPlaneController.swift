import ConiferAccess
import ConiferCore
import Hummingbird

/// The vector data plane of each index, under `/data/{project_id}/{index_name}` (the `host` of its index model).
///
/// Every route resolves its index within the caller's project first: an index of another project answers
/// exactly like a missing one. The operations themselves arrive with the storage engine.
struct DataPlaneController {
    let catalog: any Catalog

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

    func register(in routes: RouteTable) {
        for operation in Self.operations {
            let catalog = self.catalog
            routes.add(operation.method, "\(Self.prefix)/\(operation.path)", operation.permission) { call in
                _ = try await Self.resolveIndex(call, catalog: catalog, permission: operation.permission)
                throw ConiferError(.unimplemented, "\(operation.method.rawValue) /\(operation.path) is not available in this version of Conifer yet.")
            }
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
}
