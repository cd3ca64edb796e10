import ConiferAccess
import ConiferAudit
import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird

/// One row of the permission table: a route and what its caller needs.
struct RouteEntry: Sendable, Hashable {
    enum Access: Sendable, Hashable {
        /// No credentials needed (health checks, the token endpoint which checks its own).
        case open
        /// A project credential (API key, or bearer token with X-Project-Id) holding this permission.
        case project(Permission)
        /// A bearer token whose identity holds this organization permission.
        case organization(OrganizationPermission)
        /// A bearer token whose identity holds this permission in the project the path names; the
        /// handler resolves the project (unknown and invisible ones answer 404 alike) before reading the body.
        case projectAdmin(Permission)
        /// A bearer token holding this permission on the organization or project a role binding names
        /// (in the body when creating one); bindings the caller cannot see answer 404.
        case membership(Permission)
        /// The user the path names (leaving), or a bearer token with this organization permission.
        case selfOr(OrganizationPermission)
        /// A bearer token; what it may see is decided per resource (lists show only visible resources).
        case authenticated
    }

    /// What a route's requests are counted against for rate limiting.
    enum RateClass: Sendable, Hashable {
        /// The bucket of the index the path names (per namespace where the limits say so): the data plane,
        /// which takes it once the index is open.
        case index(RateLimits.Operation)
        /// The caller's project's control-plane bucket.
        case project
        /// The caller's organization's Admin API bucket.
        case organization
        /// The bucket of the request's source address (routes without credentials).
        case source(RateLimits.Operation)
        /// Never limited, for the reason given.
        case exempt(String)
    }

    /// How a route's calls reach the audit log.
    enum Audit: Sendable, Hashable {
        /// Each call is recorded as this kind (its handler may name a more precise one).
        case kind(AuditKind)
        /// The handler records its own events, for the reason given.
        case byHandler(String)
        /// Not audited, for the reason given.
        case exempt(String)
    }

    /// Where the caller's credentials are: the `Api-Key` or `Authorization` header (the APIs), or the web
    /// console's session cookie (console routes take nothing else, and the APIs never take the cookie, so no
    /// cross-site form can ride on a browser's session there).
    enum Credential: Sendable, Hashable {
        case header, consoleSession
    }

    var method: HTTPRequest.Method
    var path: String
    var access: Access
    var rate: RateClass
    /// Nil for a route whose calls change nothing.
    var audit: Audit? = nil
    var credential: Credential = .header

    /// The kind its calls are recorded as by default.
    var auditKind: AuditKind? {
        if case .kind(let kind) = audit { kind } else { nil }
    }

    /// Whether a call can change state: data-plane reads are POSTs (query, stats), so a project route
    /// goes by its permission; every other route by its method.
    var changesState: Bool {
        if case .project(let permission) = access { return !permission.isRead }
        return method != .get
    }
}

extension RouteEntry.RateClass: CustomStringConvertible {
    var description: String {
        switch self {
        case .index(let operation): "\(operation.rawValue), per index"
        case .project: "control, per project"
        case .organization: "admin, per organization"
        case .source(let operation): "\(operation.rawValue), per source address"
        case .exempt(let reason): "none (\(reason))"
        }
    }
}

extension RouteEntry.Access: CustomStringConvertible {
    var description: String {
        switch self {
        case .open: "none (public)"
        case .project(let permission): "project credential with \(permission.rawValue)"
        case .organization(let permission): "bearer token with organization \(permission.rawValue)"
        case .projectAdmin(let permission): "bearer token with \(permission.rawValue) in the project"
        case .membership(let permission): "bearer token with \(permission.rawValue) on the binding's organization or project"
        case .selfOr(let permission): "the user itself, or bearer token with organization \(permission.rawValue)"
        case .authenticated: "bearer token (results limited to what it may see)"
        }
    }
}

/// A request that passed authentication and authorization, with what its handler needs.
struct AuthorizedCall: Sendable {
    var request: Request
    var context: ConiferRequestContext
    /// The route's one authorization decision, for the services.
    var pass: AuthorizationPass
    var version: APIVersion

    func parameter(_ name: String) throws(ConiferError) -> String {
        try context.parameter(name)
    }

    func uuid(_ name: String, notFound what: String) throws(ConiferError) -> UUID {
        try context.uuidParameter(name, notFound: what)
    }

    /// Reads the body (at most `limit` bytes) and decodes it as JSON.
    func decode<T: Decodable>(_ type: T.Type, limit: Int = RouteTable.controlPlaneBodyLimit, allowedKeys: Set<String>? = nil) async throws -> T {
        try await RouteTable.decode(type, from: request, limit: limit, allowedKeys: allowedKeys)
    }
}

extension ConiferRequestContext {
    /// A path parameter, percent-decoded; the router only matches when it is present. Control characters
    /// (`%00`, `%0A`, …) are refused with 400, so `idx%00` never reaches a lookup as `idx`.
    func parameter(_ name: String) throws(ConiferError) -> String {
        guard let raw = parameters.get(name) else {
            throw ConiferError(.internalError, "Route parameter \(name) missing")
        }
        let value = raw.utf8.contains(UInt8(ascii: "%")) ? raw.removingPercentEncoding ?? raw : raw
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw ConiferError.invalidArgument("The path parameter \(name) contains a control character.")
        }
        return value
    }

    /// A path parameter that must be a UUID; anything else is a resource that cannot exist (404).
    func uuidParameter(_ name: String, notFound what: String) throws(ConiferError) -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw .notFound("\(what) \(raw.prefix(64)) not found.") }
        return id
    }
}

/// A web-console request whose session was verified, with the pass of its route's decision and the form it posted
/// (its CSRF token checked).
struct ConsoleCall: Sendable {
    var request: Request
    var context: ConiferRequestContext
    var pass: AdminPass
    var form: [String: String]

    func parameter(_ name: String) throws(ConiferError) -> String {
        try context.parameter(name)
    }

    /// A form field, trimmed; empty when the form does not have it.
    func field(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespaces) }

    func uuid(_ name: String, notFound what: String) throws(ConiferError) -> UUID {
        try context.uuidParameter(name, notFound: what)
    }
}

/// An Admin API request whose bearer token was verified, with the pass of its route's decision.
struct AdminCall: Sendable {
    var request: Request
    var context: ConiferRequestContext
    var pass: AdminPass
    var version: APIVersion

    func uuid(_ name: String, notFound what: String) throws(ConiferError) -> UUID {
        try context.uuidParameter(name, notFound: what)
    }

    func decode<T: AdminRequestWire>(_ type: T.Type) async throws -> T {
        try await RouteTable.decode(type, from: request, limit: RouteTable.controlPlaneBodyLimit, allowedKeys: T.fields, unknownKeyCode: .invalidArgument)
    }
}

/// Registers routes together with their entry in the permission table, so that no route exists without one.
///
/// Every protected route runs behind an `AccessMiddleware` that authenticates the caller and makes the
/// route's one authorization decision before its handler runs, so nothing reads the body or touches
/// storage for a caller who may not.
final class RouteTable {
    static let controlPlaneBodyLimit = 1 << 20

    private let router: Router<ConiferRequestContext>
    private let authenticator: Authenticator
    private let observer: any ActionObserver
    private let recorder: AuditRecorder?
    private let limiter: RateLimiter
    /// The limits of a project's control-plane calls and of an organization's Admin API calls.
    private let projectLimits: @Sendable (UUID) async throws -> RateLimits
    private let organizationLimits: @Sendable (UUID) async throws -> RateLimits

    init(
        router: Router<ConiferRequestContext>, authenticator: Authenticator, observer: any ActionObserver, recorder: AuditRecorder?,
        limiter: RateLimiter, projectLimits: @escaping @Sendable (UUID) async throws -> RateLimits, organizationLimits: @escaping @Sendable (UUID) async throws -> RateLimits
    ) {
        self.router = router
        self.authenticator = authenticator
        self.observer = observer
        self.recorder = recorder
        self.limiter = limiter
        self.projectLimits = projectLimits
        self.organizationLimits = organizationLimits
    }

    /// Every registered route, in registration order.
    private(set) var entries: [RouteEntry] = []

    /// Registers a route without credentials, counted against its source address's bucket of `rate` (or exempt).
    func open(
        _ method: HTTPRequest.Method, _ path: String, rate: RouteEntry.RateClass, audit: RouteEntry.Audit? = nil,
        handler: @escaping @Sendable (Request, ConiferRequestContext) async throws -> Response
    ) {
        entries.append(RouteEntry(method: method, path: path, access: .open, rate: rate, audit: audit))
        router.on(RouterPath(path), method: method) { [limiter] request, context in
            if case .source(let operation) = rate {
                try limiter.take(operation, key: context.sourceAddress, what: "source address \(context.sourceAddress)")
            }
            return try await handler(request, context)
        }
    }

    /// Registers a control- or data-plane route: its handler runs with the pass of the route's decision, after
    /// the project's control-plane rate limit (data-plane routes name their index class and take it themselves).
    func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ permission: Permission,
        rate: RouteEntry.RateClass = .project,
        audit: RouteEntry.Audit? = nil,
        handler: @escaping @Sendable (AuthorizedCall) async throws -> Response
    ) {
        protected(RouteEntry(method: method, path: path, access: .project(permission), rate: rate, audit: audit)) { [limiter, projectLimits] request, context in
            guard case .project(let pass)? = context.caller?.grant else { throw ConiferError(.internalError, "Route \(path) ran without a decision.") }
            if case .project = rate, let project = pass.principal?.projectID {
                try limiter.take(.control, key: project.uuidString, what: "project \(project.lowercasedString)", limits: try await projectLimits(project))
            }
            let version = try APIVersion(headers: request.headers)
            return try await handler(AuthorizedCall(request: request, context: context, pass: pass, version: version))
        }
    }

    /// Registers an Admin API route: its handler runs with the pass of the route's decision (the organization
    /// permission or the permission in the project the path names, when the access names one; otherwise the
    /// admin service decides on the resource before anything changes), after the organization's rate limit.
    func admin(
        _ method: HTTPRequest.Method, _ path: String, _ access: RouteEntry.Access, audit: RouteEntry.Audit? = nil,
        handler: @escaping @Sendable (AdminCall) async throws -> Response
    ) {
        protected(RouteEntry(method: method, path: path, access: access, rate: .organization, audit: audit)) { [limiter, organizationLimits] request, context in
            let pass = try await Self.organizationPass(context, path: path, limiter: limiter, limits: organizationLimits)
            let version = try APIVersion(headers: request.headers)
            return try await handler(AdminCall(request: request, context: context, pass: pass, version: version))
        }
    }

    /// Registers a web-console route: the caller is the signed-in user of the session cookie, decided on as for
    /// the Admin API; a call that can change state must come from the console's own origin and carry the
    /// session's CSRF token in its form (403 otherwise) before its handler runs.
    func console(
        _ method: HTTPRequest.Method, _ path: String, _ access: RouteEntry.Access, audit: RouteEntry.Audit? = nil,
        handler: @escaping @Sendable (ConsoleCall) async throws -> Response
    ) {
        let entry = RouteEntry(method: method, path: path, access: access, rate: .organization, audit: audit, credential: .consoleSession)
        protected(entry) { [limiter, organizationLimits] request, context in
            let pass = try await Self.organizationPass(context, path: path, limiter: limiter, limits: organizationLimits)
            var form: [String: String] = [:]
            if entry.changesState {
                try ConsoleRequest.requireSameOrigin(request)
                form = try await ConsoleRequest.form(request)
                guard let secret = ConsoleRequest.sessionSecret(request), ConsoleSession.verifyCSRF(form["csrf_token"], secret: secret) else {
                    throw ConiferError.forbidden("The form's CSRF token is missing or belongs to another session; reload the page.")
                }
            }
            return try await handler(ConsoleCall(request: request, context: context, pass: pass, form: form))
        }
    }

    /// The pass of an Admin API or console route's decision, once the organization's Admin API bucket has a token.
    private static func organizationPass(
        _ context: ConiferRequestContext, path: String, limiter: RateLimiter, limits: @Sendable (UUID) async throws -> RateLimits
    ) async throws -> AdminPass {
        guard case .admin(let pass)? = context.caller?.grant else { throw ConiferError(.internalError, "Route \(path) ran without a decision.") }
        let organization = pass.identity.organizationID
        try limiter.take(
            .admin, key: organization.uuidString, what: "organization \(organization.lowercasedString)", limits: try await limits(organization)
        )
        return pass
    }

    /// A route behind its own `AccessMiddleware`, so the decision is made (and in the context) before the
    /// handler runs.
    private func protected(_ entry: RouteEntry, handler: @escaping @Sendable (Request, ConiferRequestContext) async throws -> Response) {
        entries.append(entry)
        router.group()
            .add(middleware: AccessMiddleware(entry: entry, authenticator: authenticator, observer: observer, recorder: recorder))
            .on(RouterPath(entry.path), method: entry.method) { request, context in try await handler(request, context) }
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

    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, limit: Int, allowedKeys: Set<String>?, unknownKeyCode: ConiferError.Code = .unprocessableEntity
    ) async throws -> T {
        var request = request
        return try decode(type, from: try await request.boundedBody(upTo: limit), allowedKeys: allowedKeys, unknownKeyCode: unknownKeyCode)
    }

    /// Decodes a body read already (see `decode(_:from:limit:allowedKeys:unknownKeyCode:)`).
    static func decode<T: Decodable>(
        _ type: T.Type, from buffer: ByteBuffer, allowedKeys: Set<String>?, unknownKeyCode: ConiferError.Code = .unprocessableEntity
    ) throws -> T {
        if allowedKeys == nil, let scannable = T.self as? any ScannableWire.Type,
            let value = buffer.withUnsafeReadableBytes({ bytes in JSONScanner.decode(bytes) { scannable.scan(&$0) } }) as? T
        {
            return value
        }
        let data = Data(buffer.readableBytesView)
        if let allowedKeys {
            try WireJSON.rejectUnknownKeys(in: data, allowed: allowedKeys, code: unknownKeyCode)
        }
        return try WireJSON.decode(type, from: data)
    }
}

extension Request {
    /// The body, or 413 PAYLOAD_TOO_LARGE for one larger than `limit` without reading it: at once when its
    /// Content-Length says so, else as soon as more than `limit` bytes have come (a chunked body).
    mutating func boundedBody(upTo limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw ConiferError(.payloadTooLarge, "The request body is \(declared) bytes; this endpoint accepts at most \(limit).")
        }
        return try await collectBody(upTo: limit)
    }
}
