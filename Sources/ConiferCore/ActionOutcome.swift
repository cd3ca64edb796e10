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
    /// The route's method and path pattern, e.g. `POST /data/:project_id/:index_name/vectors/upsert`, or what the
    /// system did.
    public var action: String
    /// What the audit log records the call as (the route's kind, or the system work's); nil when not audited.
    public var kind: AuditKind?
    /// What the call addressed: the path parameters (project, index, namespace, key, account, ...).
    public var resource: [String: String]
    public var result: Result
    /// The message the caller was given when the call did not succeed.
    public var reason: String?
    /// The actor's organization, when the call authenticated one.
    public var organizationID: UUID?
    /// The request's raw `User-Agent` ("" without one).
    public var userAgent: String
    /// What the handler added for the audit log.
    public var details: ActionDetails

    public init(
        actor: Actor, action: String, kind: AuditKind? = nil, resource: [String: String], result: Result, reason: String? = nil,
        organizationID: UUID? = nil, userAgent: String = "", details: ActionDetails = ActionDetails()
    ) {
        self.actor = actor
        self.action = action
        self.kind = kind
        self.resource = resource
        self.result = result
        self.reason = reason
        self.organizationID = organizationID
        self.userAgent = userAgent
        self.details = details
    }
}

/// What a handler knows about its call that the route does not say, for the audit log: a more precise
/// catalogue kind (a role binding may be a member's new role), the resource as the catalogue names it, and
/// the call's parameters. Never a secret.
public struct ActionDetails: Sendable, Equatable {
    /// The kind, when it is more precise than the route's.
    public var kind: AuditKind?
    /// `resource_id` in the catalogue's form for the kind.
    public var resourceID: JSONValue?
    public var resourceName: String?
    public var parameters: [String: JSONValue]
    /// The organization's name when the call deletes it (the event outlives the row).
    public var organizationName: String?

    public init(
        kind: AuditKind? = nil, resourceID: JSONValue? = nil, resourceName: String? = nil, parameters: [String: JSONValue] = [:],
        organizationName: String? = nil
    ) {
        self.kind = kind
        self.resourceID = resourceID
        self.resourceName = resourceName
        self.parameters = parameters
        self.organizationName = organizationName
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

/// Receives every `ActionOutcome` before the caller is answered. Audit, metrics and usage metering attach
/// here. An observer that throws (the audit spool could not store the event) turns the answer into an error:
/// no call is acknowledged without its record.
public protocol ActionObserver: Sendable {
    func observe(_ outcome: ActionOutcome) async throws
    /// Makes a change no request made (an operator's command, the scheduler's work) and records `outcome` with it:
    /// `change` returns whether it changed anything, and only then is the outcome recorded. An observer that keeps
    /// its records in the catalog (the audit recorder) writes the record in the change's own transaction.
    func record(_ outcome: ActionOutcome, _ change: @Sendable () async throws -> Bool) async throws -> Bool
}

extension ActionObserver {
    /// The change, then `observe` when it changed anything.
    public func record(_ outcome: ActionOutcome, _ change: @Sendable () async throws -> Bool) async throws -> Bool {
        guard try await change() else { return false }
        try await observe(outcome)
        return true
    }
}

/// An observer that drops every outcome (tests of other parts).
public struct NoActionObserver: ActionObserver {
    public init() {}
    public func observe(_ outcome: ActionOutcome) async {}
}
