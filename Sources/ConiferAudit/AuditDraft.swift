import Foundation
import Synchronization

/// The audit event of the call in progress, as known before its change: who, which kind, on what. The catalog
/// writes it to its outbox in the same transaction as the call's first change (so a change never commits
/// without its event, and no event exists for a change that rolled back); when the call ends, the recorder
/// replaces the outbox row with the event as the call ended (`AuditSpool.settle`). A row the call could not
/// settle is recorded as it was staged, by `AuditSpool.drainOutbox`.
public final class AuditDraft: Sendable {
    /// The draft of the audited call this task is serving; set by the edge around the call.
    @TaskLocal public static var current: AuditDraft?

    public let event: AuditEvent
    private let outboxRow = Mutex<Int64?>(nil)

    public init(event: AuditEvent) {
        self.event = event
    }

    /// The outbox row holding the event, once a change's transaction wrote it.
    public var outboxID: Int64? { outboxRow.withLock { $0 } }

    /// Notes the row a committed transaction wrote; a call's later changes leave the first row as it is.
    public func staged(as id: Int64) {
        outboxRow.withLock { row in
            if row == nil { row = id }
        }
    }
}
