import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// Backup schedules (API 2026-07, SDK 10's `pc.backup_schedules`), with the control plane's roles like backups:
/// `/indexes/{name}/backup-schedules` to create and list, `/backup-schedules/{id}` to read, change and delete
/// one, `/backup-schedules/{id}/history` for the backups it took.
struct BackupSchedulesController {
    let backups: BackupService

    func register(in routes: RouteTable) {
        routes.add(.post, "/indexes/:index_name/backup-schedules", .indexesWrite, audit: .kind(.createBackupSchedule), handler: create)
        routes.add(.get, "/indexes/:index_name/backup-schedules", .indexesRead, handler: list)
        routes.add(.get, "/backup-schedules/:schedule_id", .indexesRead, handler: describe)
        routes.add(.patch, "/backup-schedules/:schedule_id", .indexesWrite, audit: .kind(.updateBackupSchedule), handler: update)
        routes.add(.delete, "/backup-schedules/:schedule_id", .indexesWrite, audit: .kind(.deleteBackupSchedule), handler: delete)
        routes.add(.get, "/backup-schedules/:schedule_id/history", .indexesRead, handler: history)
    }

    @Sendable func create(_ call: AuthorizedCall) async throws -> Response {
        let body = try await call.decode(CreateBackupScheduleRequestWire.self, allowedKeys: CreateBackupScheduleRequestWire.fields)
        let schedule = try await create(index: try call.parameter("index_name"), body, call.context, call.pass)
        return try WireJSON.response(status: .created, BackupScheduleWire(schedule))
    }

    /// Creates a schedule of `index`, named in the call's audit event (the route's and the console's operation).
    func create(
        index: String, _ body: CreateBackupScheduleRequestWire, _ context: ConiferRequestContext, _ pass: AuthorizationPass
    ) async throws -> BackupSchedule {
        context.audit(id: .string(body.name), name: body.name, [
            "index_name": .string(index), "frequency": .string(body.schedule.frequency),
            "expire_after_days": .number(Double(body.retention.expire_after_days)),
        ])
        guard body.schedule.type == "time-based" else {
            throw ConiferError.invalidArgument("Invalid value '\(body.schedule.type.prefix(64))' for schedule.type: expected time-based.")
        }
        let schedule = try await backups.createSchedule(
            pass, indexName: index, name: body.name, frequency: try Self.frequency(body.schedule.frequency), retentionDays: body.retention.expire_after_days
        )
        context.audit(id: .string(schedule.name), name: schedule.name, ["index_name": .string(index), "schedule_id": .string(schedule.id.lowercasedString)])
        return schedule
    }

    @Sendable func list(_ call: AuthorizedCall) async throws -> Response {
        try call.page(try await backups.schedules(call.pass, indexName: try call.parameter("index_name")).map(BackupScheduleWire.init))
    }

    @Sendable func describe(_ call: AuthorizedCall) async throws -> Response {
        try WireJSON.response(status: .ok, BackupScheduleWire(try await backups.schedule(call.pass, id: try scheduleID(call))))
    }

    @Sendable func update(_ call: AuthorizedCall) async throws -> Response {
        let body = try await call.decode(UpdateBackupScheduleRequestWire.self, allowedKeys: UpdateBackupScheduleRequestWire.fields)
        return try WireJSON.response(status: .ok, BackupScheduleWire(try await update(try scheduleID(call), body, call.context, call.pass)))
    }

    /// Changes a schedule, named in the call's audit event with the changes asked for.
    func update(_ id: UUID, _ body: UpdateBackupScheduleRequestWire, _ context: ConiferRequestContext, _ pass: AuthorizationPass) async throws -> BackupSchedule {
        var changes: [String: JSONValue] = ["schedule_id": .string(id.lowercasedString)]
        if let frequency = body.frequency { changes["frequency"] = .string(frequency) }
        if let days = body.retention?.expire_after_days { changes["expire_after_days"] = .number(Double(days)) }
        if let enabled = body.enabled { changes["enabled"] = .bool(enabled) }
        context.audit(id: .string(id.lowercasedString), changes)
        let schedule = try await backups.updateSchedule(
            pass, id: id, frequency: try body.frequency.map(Self.frequency), retentionDays: body.retention?.expire_after_days, enabled: body.enabled
        )
        context.audit(id: .string(schedule.name), name: schedule.name, changes)
        return schedule
    }

    @Sendable func delete(_ call: AuthorizedCall) async throws -> Response {
        try await delete(try scheduleID(call), call.context, call.pass)
        return WireJSON.empty(status: .noContent)
    }

    /// Deletes a schedule (its backups stay), named in the call's audit event.
    @discardableResult
    func delete(_ id: UUID, _ context: ConiferRequestContext, _ pass: AuthorizationPass) async throws -> BackupSchedule {
        context.audit(id: .string(id.lowercasedString))
        let deleted = try await backups.deleteSchedule(pass, id: id)
        context.audit(id: .string(deleted.name), name: deleted.name, ["schedule_id": .string(id.lowercasedString)])
        return deleted
    }

    /// The planned run first (status `Initializing`, with the id its backup will have), then the backups taken, newest first.
    @Sendable func history(_ call: AuthorizedCall) async throws -> Response {
        let (planned, taken) = try await backups.history(call.pass, id: try scheduleID(call))
        let next = planned.map { backup in
            var row = BackupWire(backup, call.version)
            row.status = "Initializing"
            row.scheduled_execution_at = backup.createdAt  // the planned run's time
            return row
        }
        return try call.page((next.map { [$0] } ?? []) + taken.map { backup in
            var row = BackupWire(backup, call.version)
            row.scheduled_execution_at = backup.createdAt  // taken at its slot, or at the start after a missed one
            return row
        })
    }

    private func scheduleID(_ call: AuthorizedCall) throws -> UUID { try call.uuid("schedule_id", notFound: "Backup schedule") }

    private static func frequency(_ text: String) throws -> BackupSchedule.Frequency {
        try WireEnum.parse(text, field: "frequency", as: BackupSchedule.Frequency.self) ?? .daily
    }
}

/// `CreateBackupScheduleRequest`: `{name, schedule: {type: "time-based", frequency}, retention: {expire_after_days}}`.
struct CreateBackupScheduleRequestWire: Decodable {
    static let fields: Set<String> = ["name", "schedule", "retention"]
    struct Schedule: Decodable {
        var type: String
        var frequency: String
    }
    var name: String
    var schedule: Schedule
    var retention: RetentionWire
}

struct RetentionWire: Decodable {
    var expire_after_days: Int
}

/// `UpdateBackupScheduleRequest`: any of `frequency`, `retention`, `enabled`.
struct UpdateBackupScheduleRequestWire: Decodable {
    static let fields: Set<String> = ["frequency", "retention", "enabled"]
    var frequency: String?
    var retention: RetentionWire?
    var enabled: Bool?
}

/// `BackupScheduleResponse`.
struct BackupScheduleWire: Encodable {
    var schedule_id: String
    var name: String
    var index_id: String
    var index_name: String
    var project_id: String
    var schedule_type = "time-based"
    var frequency: String
    var retention_expire_after_days: Int
    var enabled: Bool
    /// Null while the schedule is disabled (the SDK's model requires the key).
    var next_scheduled_run: Nullable<Date>
    var created_at: Date

    init(_ schedule: BackupSchedule) {
        schedule_id = schedule.id.lowercasedString
        name = schedule.name
        index_id = schedule.indexID.lowercasedString
        index_name = schedule.indexName
        project_id = schedule.projectID.lowercasedString
        frequency = schedule.frequency.rawValue
        retention_expire_after_days = schedule.retentionDays
        enabled = schedule.enabled
        next_scheduled_run = Nullable(schedule.next?.at)
        created_at = schedule.createdAt
    }
}
