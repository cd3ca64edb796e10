import ConiferCore
import Foundation

/// A change to an organization's export; nil leaves a setting as it is.
public struct AuditExportChange: Sendable {
    public var destination: AuditDestination
    /// true pauses (after delivering what is pending), false resumes.
    public var paused: Bool?

    public init(destination: AuditDestination, paused: Bool?) {
        self.destination = destination
        self.paused = paused
    }
}

/// The audit-log settings of the Admin API: enabling an export (after writing the access-test object),
/// changing or pausing it, removing it, and reading events. The route decides who may call (organization
/// owners) and the plan; this service keeps the rule that nothing recorded is lost on the way: pausing and
/// removing first deliver what is pending, and the exporter then delivers the pause or removal event itself
/// (a removed export disappears once it has).
public struct AuditLogService: Sendable {
    public let spool: any AuditSpool
    public let exporter: AuditExporter
    /// The destinations the operator allows.
    let policy: AuditDestinationPolicy
    let clock: @Sendable () -> Date

    public init(spool: any AuditSpool, exporter: AuditExporter, policy: AuditDestinationPolicy, clock: @escaping @Sendable () -> Date = Date.init) {
        self.spool = spool
        self.exporter = exporter
        self.policy = policy
        self.clock = clock
    }

    public func export(organization: UUID) async throws -> AuditExport? {
        try await spool.export(organization: organization)
    }

    public func events(_ query: AuditQuery) async throws -> AuditPage {
        try await spool.events(query)
    }

    /// Enables (or replaces) the export once the destination accepted the access-test object.
    public func enable(organization: UUID, destination: AuditDestination) async throws -> AuditExport {
        try await testAccess(destination)
        return try await spool.enableExport(organization: organization, destination: destination, at: clock())
    }

    public func change(organization: UUID, _ change: AuditExportChange) async throws -> AuditExport {
        guard let current = try await spool.export(organization: organization), current.state != .removing else {
            throw ConiferError.notFound("The audit log is not enabled for this organization.")
        }
        if change.destination != current.destination { try await testAccess(change.destination) }
        var state = current.state
        switch change.paused {
        case true?:
            try await exporter.flush(organization: organization)
            state = .paused
        case false?: state = .active
        case nil: break
        }
        return try await spool.setExport(organization: organization, destination: change.destination, state: state)
    }

    /// Removes the export after delivering what is pending. It stays visible as `removing` until the exporter
    /// has delivered the removal event too (within a second or so; longer while the bucket cannot be reached).
    /// Returns what is left; nil when there was none (removing is idempotent).
    public func remove(organization: UUID) async throws -> AuditExport? {
        guard let current = try await spool.export(organization: organization) else { return nil }
        if current.state != .active {  // what was recorded while paused goes too
            _ = try await spool.setExport(organization: organization, destination: current.destination, state: .active)
        }
        try await exporter.flush(organization: organization)
        return try await spool.setExport(organization: organization, destination: current.destination, state: .removing)
    }

    /// Checks the destination against the operator's policy, then writes the access-test object. A refusal names
    /// the bucket and S3's error code, never the upstream's answer body or a credential.
    private func testAccess(_ destination: AuditDestination) async throws {
        try policy.check(destination)
        do {
            try await exporter.testAccess(destination)
        } catch {
            throw ConiferError.invalidArgument(
                "Cannot write s3://\(destination.location)/\(AuditExporter.accessTestObject): \(error). Check the bucket, region and the role's s3:PutObject permission."
            )
        }
    }
}
