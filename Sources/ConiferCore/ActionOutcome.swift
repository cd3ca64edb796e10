import Foundation

/// What one state-changing call, or one denial, did: who, which action, on what, and how it ended. Every
/// such call produces exactly one, for the action observers (audit, metrics, usage metering).
public struct ActionOutcome: Sendable, Equatable {
    public enum Actor: Sendable, Equatable {
        /// No valid credentials were presented.
        case anonymous
        case apiKey(UUID)
        case serviceAccount(UUID)
        case user(UUID)
        case system(SystemTask)
    }

    public enum Result: Sendable, Equatable {
        case succeeded
        /// Refused for lack of credentials (401) or of rights (403).
        case denied(ConiferError.Code)
        case failed(ConiferError.Code)

        public init(_ error: any Error) {
            let code = (error as? ConiferError)?.code ?? .internalError
            self = code == .unauthenticated || code == .permissionDenied ? .denied(code) : .failed(code)
        }

        public var isDenial: Bool {
            if case .denied = self { true } else { false }
        }
    }

    public var actor: Actor
    /// The route's method and path pattern, e.g. `POST /data/:project_id/:index_name/vectors/upsert`.
    public var action: String
    /// What the call addressed: the path parameters (project, index, namespace, key, account, ...).
    public var resource: [String: String]
    public var result: Result

    public init(actor: Actor, action: String, resource: [String: String], result: Result) {
        self.actor = actor
        self.action = action
        self.resource = resource
        self.result = result
    }
}

extension ActionOutcome.Actor {
    public init(_ principal: Principal) {
        switch principal.kind {
        case .apiKey(let id, _): self = .apiKey(id)
        case .identity(let kind): self.init(kind)
        }
    }

    public init(_ kind: Identity.Kind) {
        switch kind {
        case .serviceAccount(let id): self = .serviceAccount(id)
        case .user(let id): self = .user(id)
        }
    }
}

/// Receives every `ActionOutcome`. Audit, metrics and usage metering attach here.
public protocol ActionObserver: Sendable {
    func observe(_ outcome: ActionOutcome) async
}

/// The observer until audit and metrics exist: it drops every outcome.
public struct NoActionObserver: ActionObserver {
    public init() {}
    public func observe(_ outcome: ActionOutcome) async {}
}
