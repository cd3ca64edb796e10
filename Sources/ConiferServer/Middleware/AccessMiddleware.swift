import ConiferCore
import Hummingbird

/// The authenticated caller of a route and the decision its table entry made, in the request context for
/// the handler and for every middleware after this one (audit, metrics, rate limits keyed by caller).
struct Caller: Sendable {
    enum Grant: Sendable {
        /// A control- or data-plane route: the pass the services require.
        case project(AuthorizationPass)
        /// An Admin API route: the pass the admin service requires.
        case admin(AdminPass)
    }

    var grant: Grant
    var actor: ActionOutcome.Actor
    var route: RouteEntry
}

/// Runs in front of one protected route: authenticates the caller, makes the route's one authorization
/// decision from its table entry, and stores the result as `context.caller`, before anything reads the body
/// or touches storage. Reports every denial, and every state-changing call once the handler has answered,
/// to the action observer.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ConiferRequestContext

    let entry: RouteEntry
    let authenticator: Authenticator
    let observer: any ActionObserver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var actor = ActionOutcome.Actor.anonymous
        do {
            switch entry.access {
            case .project(let permission):
                let principal = try await authenticator.principal(for: request)
                actor = ActionOutcome.Actor(principal)
                context.caller = Caller(grant: .project(try principal.authorize(permission)), actor: actor, route: entry)
            default:  // every other access kind needs a bearer token (public routes never get this middleware)
                let identity = try await authenticator.identity(for: request)
                actor = ActionOutcome.Actor(identity.kind)
                let pass: AdminPass = switch entry.access {
                case .organization(let permission): try identity.authorize(permission)
                case .projectAdmin(let permission): try await authenticator.authorize(permission, identity, parameters: context.parameters)
                // `.membership`, `.selfOr`, `.authenticated`: the admin service decides on the resource.
                default: identity.admit()
                }
                context.caller = Caller(grant: .admin(pass), actor: actor, route: entry)
            }
        } catch {
            await report(actor, context, ActionOutcome.Result(error))
            throw error
        }
        do {
            let response = try await next(request, context)
            if entry.changesState { await report(actor, context, .succeeded) }
            return response
        } catch {
            let result = ActionOutcome.Result(error)
            if entry.changesState || result.isDenial { await report(actor, context, result) }
            throw error
        }
    }

    private func report(_ actor: ActionOutcome.Actor, _ context: Context, _ result: ActionOutcome.Result) async {
        var resource: [String: String] = [:]
        for (name, value) in context.parameters { resource[String(name)] = String(value) }
        await observer.observe(ActionOutcome(actor: actor, action: "\(entry.method.rawValue) \(entry.path)", resource: resource, result: result))
    }
}
