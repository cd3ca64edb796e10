import ConiferCore
import ConiferAudit
import Foundation
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
/// to the action observer. An audited call runs with its audit draft (`AuditDraft.current`), which the
/// catalog stages in the transaction of the call's change and the recorder settles as the call ended.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ConiferRequestContext

    let entry: RouteEntry
    let authenticator: Authenticator
    let observer: any ActionObserver
    /// Makes the drafts of audited calls.
    let recorder: AuditRecorder?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var actor = ActionOutcome.Actor.anonymous
        var organization: UUID?
        do {
            switch entry.access {
            case .project(let permission):
                let principal = try await authenticator.principal(for: request)
                actor = ActionOutcome.Actor(principal)
                organization = principal.organizationID
                context.caller = Caller(grant: .project(try principal.authorize(permission)), actor: actor, route: entry)
            default:  // every other access kind needs a bearer token or, on the console, its session
                let identity = entry.credential == .consoleSession
                    ? try await authenticator.consoleIdentity(for: request) : try await authenticator.identity(for: request)
                actor = ActionOutcome.Actor(identity.kind)
                organization = identity.organizationID
                let pass: AdminPass = switch entry.access {
                case .organization(let permission): try identity.authorize(permission)
                case .projectAdmin(let permission): try await authenticator.authorize(permission, identity, parameters: context.parameters)
                // `.membership`, `.selfOr`, `.authenticated`: the admin service decides on the resource.
                default: identity.admit()
                }
                context.caller = Caller(grant: .admin(pass), actor: actor, route: entry)
            }
        } catch let revoked as RevokedToken {
            let organization = await authenticator.organization(of: revoked.subject)
            try await report(request, context, ActionOutcome.Actor(revoked.subject), organization, error: RevokedToken.answer)
            throw RevokedToken.answer
        } catch {
            try await report(request, context, actor, organization, error: error)
            throw error
        }
        let draft = try await self.draft(request, context, actor, organization)
        return try await AuditDraft.$current.withValue(draft) {
            let response: Response
            do {
                response = try await next(request, context)
            } catch {
                if entry.changesState || ActionOutcome.Result(ErrorMapping.domainError(error, request: request)).isDenial {
                    try await report(request, context, actor, organization, error: error)
                }
                throw error
            }
            // The outcome is stored (the audit event durably) before the caller hears of success.
            guard entry.changesState else { return response }
            do {
                try await report(request, context, actor, organization, error: nil)
            } catch where draft?.outboxID != nil {
                // The change committed with its event in the outbox, which the next drain records: the caller is
                // answered (a new key's only copy of its secret is in this answer).
                context.logger.error("an audit event stays in the outbox until the next drain", metadata: ["error": "\(error)"])
            }
            return response
        }
    }

    /// The draft of the call's audit event, for a route whose calls are audited.
    private func draft(_ request: Request, _ context: Context, _ actor: ActionOutcome.Actor, _ organization: UUID?) async throws -> AuditDraft? {
        guard let recorder, entry.auditKind != nil else { return nil }
        return try await recorder.draft(for: outcome(request, context, actor, organization, error: nil))
    }

    /// Tells the observer how the call ended, with the error as the caller is answered (`ErrorMapping`).
    private func report(_ request: Request, _ context: Context, _ actor: ActionOutcome.Actor, _ organization: UUID?, error: (any Error)?) async throws {
        try await observer.observe(outcome(request, context, actor, organization, error: error))
    }

    private func outcome(_ request: Request, _ context: Context, _ actor: ActionOutcome.Actor, _ organization: UUID?, error: (any Error)?) -> ActionOutcome {
        var resource: [String: String] = [:]
        for (name, value) in context.parameters { resource[String(name)] = String(value) }
        let answer = error.map { ErrorMapping.domainError($0, request: request) }
        return ActionOutcome(
            actor: actor, action: "\(entry.method.rawValue) \(entry.path)", kind: entry.auditKind, resource: resource,
            result: answer.map(ActionOutcome.Result.init) ?? .succeeded, reason: answer?.message,
            organizationID: organization, userAgent: request.headers[.userAgent] ?? "", details: context.actionDetails.value
        )
    }
}
