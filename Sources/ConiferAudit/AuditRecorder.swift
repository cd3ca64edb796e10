import ConiferCore
import Foundation

/// Turns the outcome of every audited call into an event and stores it in the spool before the call is
/// answered (the server awaits `observe`, and an error here becomes the caller's answer).
///
/// A call is audited when its outcome names a kind (its route's, its handler's, or the system work's). Calls without
/// valid credentials are not recorded, so nobody can fill the spool anonymously; sign-ins are the exception
/// (their handler names the account tried, records failures naming unknown accounts once per source address and
/// window, and they are throttled). Fields a caller chooses are bounded.
public struct AuditRecorder: ActionObserver {
    let spool: any AuditSpool
    let directory: any AuditDirectory
    let clock: @Sendable () -> Date

    public init(spool: any AuditSpool, directory: any AuditDirectory, clock: @escaping @Sendable () -> Date = Date.init) {
        self.spool = spool
        self.directory = directory
        self.clock = clock
    }

    /// The longest `User-Agent` kept (browsers' and SDKs' are far shorter).
    static let maxUserAgent = 256

    /// Stores the outcome's event: in place of the outbox row the call's change staged (`AuditDraft.current`),
    /// or as a new event when the call changed nothing (a denial, a refusal before any change).
    public func observe(_ outcome: ActionOutcome) async throws {
        guard var event = try await event(for: outcome) else { return }
        if let draft = AuditDraft.current, let staged = draft.outboxID {
            event.id = draft.event.id
            _ = try await spool.settle(outbox: staged, with: event)
        } else {
            try await spool.append(event)
        }
    }

    /// Makes the change with the outcome's draft in effect, so its transaction stages the event, then settles it.
    /// Once staged, the event is not lost if settling fails: the drain records it.
    public func record(_ outcome: ActionOutcome, _ change: @Sendable () async throws -> Bool) async throws -> Bool {
        let draft = try await draft(for: outcome)
        return try await AuditDraft.$current.withValue(draft) {
            guard try await change() else { return false }
            do {
                try await observe(outcome)
            } catch where draft?.outboxID != nil {}
            return true
        }
    }

    /// The draft of an audited call about to run, as if it succeeded with nothing more known than its route and
    /// caller (nil when the call is not audited): what the outbox holds until the call settles it.
    public func draft(for outcome: ActionOutcome) async throws -> AuditDraft? {
        try await event(for: outcome).map(AuditDraft.init(event:))
    }

    /// The event for an outcome, or nil when the call is not audited.
    func event(for outcome: ActionOutcome) async throws -> AuditEvent? {
        let details = outcome.details
        guard let kind = details.kind ?? outcome.kind else { return nil }
        // Without credentials only a handler's own record counts (a sign-in names the account tried).
        if case .anonymous = outcome.actor, details.kind == nil { return nil }
        // Only a sign-in with an unknown name has no organization: it goes to the first one. A known actor whose
        // organization is gone (a deleted account's revoked token) is not attributed to anyone else's.
        let organizationID: UUID?
        if let known = outcome.organizationID {
            organizationID = known
        } else if case .anonymous = outcome.actor {
            organizationID = try await directory.firstOrganization()
        } else {
            organizationID = nil
        }
        guard let organizationID else { return nil }
        let names = try await directory.auditNames(organization: organizationID, actor: outcome.actor)
        var actor = names.actor
        if case .anonymous = outcome.actor, case .string(let tried)? = details.resourceID {
            // A sign-in with an unknown name: the name tried is the only trace of who it was.
            actor.principal_name = String(tried.prefix(128))
            actor.principal_type = kind.resourceType == "user" ? "user" : "service_account"
        }
        var parameters = details.parameters
        for (name, value) in outcome.resource where parameters[name] == nil { parameters[name] = .string(value) }
        let outcomeField: AuditEvent.Outcome = switch outcome.result {
        case .succeeded: AuditEvent.Outcome(result: "success")
        case .denied(let code), .failed(let code):
            AuditEvent.Outcome(result: "failure", reason: outcome.reason ?? code.rawValue, error_code: code.rawValue)
        }
        return AuditEvent(
            id: UUID().uuidString.lowercased(),
            organization_id: organizationID.uuidString.lowercased(),
            organization_name: names.organization.isEmpty ? details.organizationName ?? "" : names.organization,
            client: AuditEvent.Client(userAgent: String(outcome.userAgent.prefix(Self.maxUserAgent))),
            actor: actor,
            event: AuditEvent.Event(
                time: AuditTime.string(clock()), action: kind.action, resource_type: kind.resourceType,
                resource_id: details.resourceID ?? Self.pathResource(outcome.resource), resource_name: details.resourceName,
                outcome: outcomeField, parameters: parameters
            )
        )
    }

    /// Without a handler's word (a denied call), the resource is what the path names: the index name, or the
    /// one id the path holds.
    static func pathResource(_ parameters: [String: String]) -> JSONValue {
        if let index = parameters["index_name"] { return .string(index) }
        if parameters.count == 1, let only = parameters.values.first { return .string(only) }
        return .string("")
    }
}
