import ConiferCore
import Hummingbird

/// The per-request context of every Conifer route.
struct ConiferRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address (no port), for per-source limits; "unknown" when the channel has none.
    let sourceAddress: String
    /// The connection, to find what its PROXY protocol header said (private listener).
    let connection: ObjectIdentifier
    /// The authenticated caller and its route's decision; set by `AccessMiddleware` on protected routes.
    var caller: Caller?
    /// What the handler adds to its call's outcome for the audit log (a box: the middleware reads it after
    /// the handler, which got its own copy of the context).
    let actionDetails = LockedBox(ActionDetails())

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sourceAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        connection = ObjectIdentifier(source.channel)
    }

}

extension ConiferRequestContext {
    /// Adds what the audit log should know about this call: a more precise catalogue kind, the resource in
    /// the catalogue's form, its name, the parameters (never a secret). Set as soon as known, so a call that
    /// fails later is recorded with what it was about.
    func audit(
        kind: AuditKind? = nil, id: JSONValue? = nil, name: String? = nil, organizationName: String? = nil, _ parameters: [String: JSONValue] = [:]
    ) {
        actionDetails.withValue { details in
            if let kind { details.kind = kind }
            if let organizationName { details.organizationName = organizationName }
            if let id { details.resourceID = id }
            if let name { details.resourceName = name }
            details.parameters.merge(parameters) { _, new in new }
        }
    }
}
