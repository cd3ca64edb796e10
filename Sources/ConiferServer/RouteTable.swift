import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird

/// One row of the permission table: a route and what its caller needs.
struct RouteEntry: Sendable, Hashable {
    enum Access: Sendable, Hashable {
        /// No credentials needed (health checks).
        case open
        /// A project credential holding this permission.
        case project(Permission)
    }

    var method: HTTPRequest.Method
    var path: String
    var access: Access
}

/// A request that passed authentication and authorization, with what its handler needs.
struct AuthorizedCall: Sendable {
    var request: Request
    var context: ConiferRequestContext
    var principal: Principal
    var version: APIVersion

    /// A path parameter; the router only matches when it is present.
    func parameter(_ name: String) throws(ConiferError) -> String {
        guard let value = context.parameters.get(name) else {
            throw ConiferError(.internalError, "Route parameter \(name) missing")
        }
        return value.removingPercentEncoding ?? value
    }

    /// Reads the body (at most `limit` bytes) and decodes it as JSON.
    func decode<T: Decodable>(_ type: T.Type, limit: Int = RouteTable.controlPlaneBodyLimit, allowedKeys: Set<String>? = nil) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        let data = Data(buffer.readableBytesView)
        if let allowedKeys {
            try WireJSON.rejectUnknownKeys(in: data, allowed: allowedKeys)
        }
        return try WireJSON.decode(type, from: data)
    }
}

/// Registers routes together with their entry in the permission table, so that no route exists without one.
///
/// Every protected route authenticates the caller, authorizes the route's permission and reads the API
/// version before its handler runs, so nothing reads the body or touches storage for a caller who may not.
final class RouteTable {
    static let controlPlaneBodyLimit = 1 << 20
    static let apiKeyHeader = HTTPField.Name("Api-Key")!

    private let router: Router<ConiferRequestContext>
    private let catalog: any Catalog

    init(router: Router<ConiferRequestContext>, catalog: any Catalog) {
        self.router = router
        self.catalog = catalog
    }

    /// Every registered route, in registration order.
    private(set) var entries: [RouteEntry] = []

    func open(_ method: HTTPRequest.Method, _ path: String, handler: @escaping @Sendable (Request, ConiferRequestContext) async throws -> Response) {
        record(RouteEntry(method: method, path: path, access: .open))
        router.on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }

    func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ permission: Permission,
        handler: @escaping @Sendable (AuthorizedCall) async throws -> Response
    ) {
        record(RouteEntry(method: method, path: path, access: .project(permission)))
        let catalog = self.catalog
        router.on(RouterPath(path), method: method) { request, context in
            let principal = try await Self.authenticate(request, catalog: catalog)
            try principal.require(permission)
            let version = try APIVersion(headers: request.headers)
            return try await handler(AuthorizedCall(request: request, context: context, principal: principal, version: version))
        }
    }

    /// Answers 405 for the methods a registered path does not serve, in the path's error shape.
    func addMethodFallbacks() {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        let byPath = Dictionary(grouping: entries, by: \.path)
        for (path, routes) in byPath {
            let served = Set(routes.map(\.method))
            let allow = routes.map(\.method.rawValue).sorted().joined(separator: ", ")
            for method in methods where !served.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw ConiferError(.methodNotAllowed, "Method \(method.rawValue) is not allowed here; use \(allow).")
                }
            }
        }
    }

    private func record(_ entry: RouteEntry) {
        entries.append(entry)
    }

    static func authenticate(_ request: Request, catalog: any Catalog) async throws -> Principal {
        let values = Set(request.headers[values: apiKeyHeader])
        guard let value = values.first else {
            throw ConiferError.unauthenticated("Missing API key. Pass your API key in the Api-Key header.")
        }
        guard values.count == 1, let principal = try await catalog.authenticate(apiKey: value) else {
            throw ConiferError.unauthenticated("Invalid API key.")
        }
        return principal
    }
}
