import Hummingbird

/// The per-request context of every Conifer route.
struct ConiferRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
