import Hummingbird

/// The per-request context of every Conifer route.
struct ConiferRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address (no port), for per-source limits; "unknown" when the channel has none.
    let sourceAddress: String
    /// The authenticated caller and its route's decision; set by `AccessMiddleware` on protected routes.
    var caller: Caller?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sourceAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
