import Foundation

/// Evidence that the one authorization decision for a request was made: a principal was granted a
/// permission in its project (in the spirit of Qdrant's `CollectionPass`).
///
/// Other modules cannot build one: the only ways to get a pass are `Principal.authorize(_:)`, which is
/// the decision (and a principal is made only by the access layer: its initializers are not public),
/// `system(_:)`, which names the background task that acts without a caller, and `delegating(_:)`, which
/// names the task a caller's request started and keeps the caller. Every service and storage entry point
/// that reaches data or catalog state takes a pass, so no path gets there without a decision made first.
public struct AuthorizationPass: Sendable, Equatable {
    /// Who holds the pass.
    public enum Holder: Sendable, Equatable {
        case principal(Principal)
        /// Background work no caller asked for (the system actor).
        case system(SystemTask)
        /// Work a caller's request started that reaches more than the caller's own permission (a backup reads
        /// the records of an index its caller may manage but not read); the caller stays known.
        case delegated(SystemTask, caller: Principal)
    }

    public let holder: Holder
    /// The permission the decision granted (nil for system work, which is not limited by one).
    public let granted: Permission?

    fileprivate init(holder: Holder, granted: Permission?) {
        self.holder = holder
        self.granted = granted
    }

    /// A pass for work no caller asked for; the task is named so logs and audit can tell it apart.
    public static func system(_ task: SystemTask) -> AuthorizationPass {
        AuthorizationPass(holder: .system(task), granted: nil)
    }

    /// A pass for `task` on behalf of this pass's caller, who must hold the permission that starts the task
    /// (a backup or restore needs `indexes:write`, an index's metrics `indexes:read`). A system pass stays itself.
    public func delegating(_ task: SystemTask) throws(ConiferError) -> AuthorizationPass {
        switch holder {
        case .system, .delegated:
            return self
        case .principal(let caller):
            guard let needed = task.startedBy else {
                throw ConiferError(.internalError, "No caller can start the system task \(task.rawValue).")
            }
            try require(needed)
            return AuthorizationPass(holder: .delegated(task, caller: caller), granted: nil)
        }
    }

    /// The caller, for a pass a request earned.
    public var principal: Principal? {
        if case .principal(let principal) = holder { principal } else { nil }
    }

    /// Whose request the work is for: the principal of a request's pass or of a delegated one (nil for the system).
    public var caller: Principal? {
        switch holder {
        case .principal(let principal), .delegated(_, let principal): principal
        case .system: nil
        }
    }

    /// Throws 403 unless the pass allows `permission`: the decision granted it, or the principal holds it.
    /// Services state what each operation needs with this, so a caller without the right is stopped there
    /// even if a route's table entry were wrong.
    public func require(_ permission: Permission) throws(ConiferError) {
        switch holder {
        case .system:
            return
        case .delegated(let task, _):
            guard task.grants.contains(permission) else {
                throw .permissionDenied("The \(task.rawValue) task does not reach what this needs (\(permission.rawValue)).")
            }
        case .principal(let principal):
            guard granted == permission || principal.permissions.contains(permission) else {
                throw .permissionDenied("The caller does not have the permission this request needs (\(permission.rawValue)).")
            }
        }
    }

    /// The principal, after `require(permission)`; system passes have no project and are refused here.
    public func principal(requiring permission: Permission) throws(ConiferError) -> Principal {
        try require(permission)
        guard let principal else { throw ConiferError(.internalError, "A system task has no project to act in.") }
        return principal
    }
}

/// Background work that reaches stored data without a caller.
public enum SystemTask: String, Sendable, Equatable {
    case compaction
    /// Removing the files of indexes the catalog no longer has.
    case purge
    /// An operator's command on the data directory (`conifer org plan set`).
    case operatorCommand = "operator"
    /// Counting an index's records and bytes for its metrics, for a caller that may read its metrics (not its data).
    case metrics
    /// Taking a backup of an index (for a caller that may manage its indexes, or for a schedule), and restoring
    /// one into a new index.
    case backup
    /// Evaluating spend alerts against the usage ledger.
    case spendAlerts = "spend-alerts"

    /// The permission a caller needs to start the task on its behalf (nil: only the system runs it).
    var startedBy: Permission? {
        switch self {
        case .backup: .indexesWrite
        case .metrics: .indexesRead
        case .compaction, .purge, .operatorCommand, .spendAlerts: nil
        }
    }

    /// What a delegated pass for the task may reach.
    var grants: Set<Permission> {
        switch self {
        case .backup: [.indexesRead, .indexesWrite, .dataRead, .dataWrite]
        case .metrics: [.dataRead]
        case .compaction, .purge, .operatorCommand, .spendAlerts: []
        }
    }
}

extension Principal {
    /// The authorization decision: a pass when the principal holds `permission`, 403 otherwise.
    public func authorize(_ permission: Permission) throws(ConiferError) -> AuthorizationPass {
        try require(permission)
        return AuthorizationPass(holder: .principal(self), granted: permission)
    }
}

/// Evidence that an Admin API call was authenticated and its route's decision made: what every method of
/// the admin service requires. Made only by `Identity.admit()` (routes decided on the resource they name,
/// by the admin service) and `Identity.authorize(_:)` (routes that need an organization permission, or a
/// permission in the project the path names).
public struct AdminPass: Sendable, Equatable {
    public let identity: Identity

    fileprivate init(identity: Identity) {
        self.identity = identity
    }
}

extension Identity {
    /// The pass of an authenticated identity on a route whose resource decides (lists show only what the
    /// identity may see; bindings, users and invites are checked on the resource). Only the access check
    /// (in this package) admits.
    package func admit() -> AdminPass { AdminPass(identity: self) }

    /// The decision for a route that needs an organization permission.
    public func authorize(_ permission: OrganizationPermission) throws(ConiferError) -> AdminPass {
        try require(permission)
        return AdminPass(identity: self)
    }

    /// The decision for a route that needs a permission in the project it names.
    public func authorize(_ permission: Permission, inProject project: UUID) throws(ConiferError) -> AdminPass {
        try require(permission, inProject: project)
        return AdminPass(identity: self)
    }
}
