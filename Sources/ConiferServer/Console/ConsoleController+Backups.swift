import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// The console's backups: back up an index, a project's backups and restore jobs (a page that refreshes itself while
/// a job runs), restore a backup into a new index, delete a backup, and an index's backup schedules (create, pause or
/// resume, delete; listed on the index's page). Each form calls the backup routes' own operation with the user's pass
/// in the project, so a restore meets every rule a create does (plan, quotas, CMEK, roles).
extension ConsoleController {
    func registerBackupPages(in routes: RouteTable) {
        let project = "/console/projects/:project_id"
        routes.console(.post, "\(project)/indexes/:index_name/backups", .projectAdmin(.indexesWrite), audit: .kind(.createBackup), handler: createBackup)
        routes.console(.get, "\(project)/backups", .projectAdmin(.indexesRead), handler: backupsPage)
        routes.console(.post, "\(project)/backups/:backup_id/restore", .projectAdmin(.indexesWrite), audit: .kind(.createIndex), handler: restoreBackup)
        routes.console(.post, "\(project)/backups/:backup_id/delete", .projectAdmin(.indexesWrite), audit: .kind(.deleteBackup), handler: deleteBackup)
        routes.console(
            .post, "\(project)/indexes/:index_name/backup-schedules", .projectAdmin(.indexesWrite), audit: .kind(.createBackupSchedule), handler: createSchedule
        )
        routes.console(.post, "\(project)/backup-schedules/:schedule_id", .projectAdmin(.indexesWrite), audit: .kind(.updateBackupSchedule), handler: updateSchedule)
        routes.console(
            .post, "\(project)/backup-schedules/:schedule_id/delete", .projectAdmin(.indexesWrite), audit: .kind(.deleteBackupSchedule), handler: deleteSchedule
        )
    }

    private func backupsPath(_ project: UUID) -> String { "/console/projects/\(project.lowercasedString)/backups" }

    @Sendable func createBackup(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let name = call.field("name")
        let description = call.field("description")
        _ = try await backups.createBackup(
            of: try call.parameter("index_name"), name: name.isEmpty ? nil : name, description: description.isEmpty ? nil : description, call.context, pass
        )
        return ConsolePages.redirect(to: backupsPath(project))
    }

    /// The project's backups (newest first) with a restore form each, and its restore jobs with their progress; while
    /// a job is pending or running the page reloads itself every two seconds (a `Refresh`, no script).
    @Sendable func backupsPage(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesRead)
        let info = try await admin.project(project, for: call.pass)
        var values = try await layout(call, title: "Backups of \(info.name)")
        let records = try await backups.backups.list(pass, indexName: nil).sorted { $0.createdAt > $1.createdAt }
        let jobs = try await backups.backups.jobs(pass).sorted { $0.createdAt > $1.createdAt }
        values["project"] = ["id": project.lowercasedString, "name": info.name]
        values["canWrite"] = call.pass.identity.permissions(inProject: project).contains(.indexesWrite)
        values["hasBackups"] = !records.isEmpty
        values["backups"] = records.map { backup -> [String: Any] in
            [
                "id": backup.id.lowercasedString, "name": backup.name, "index": backup.source.name, "records": backup.recordCount,
                "namespaces": backup.namespaceCount, "size": backup.sizeBytes, "created": ConsolePages.date(backup.createdAt),
                "scheduled": backup.scheduleID != nil,
            ]
        }
        values["hasJobs"] = !jobs.isEmpty
        values["jobs"] = jobs.map { job -> [String: Any] in
            var row: [String: Any] = [
                "index": job.targetIndexName, "status": job.status.rawValue, "percent": Int(job.percentComplete.rounded()),
                "created": ConsolePages.date(job.createdAt), "path": indexPath(project, job.targetIndexName), "done": job.status == .completed,
            ]
            // Only a failed job has an error (an empty string would still open the template's section).
            if let error = job.error { row["error"] = error }
            return row
        }
        let running = jobs.contains { $0.status == .pending || $0.status == .inProgress }
        return ConsolePages.page("backups", values, headers: running ? [ConsolePages.refresh: "2"] : [:])
    }

    @Sendable func restoreBackup(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let body = CreateIndexFromBackupRequestWire(
            name: call.field("name"), tags: nil, deletion_protection: call.form["deletion_protection"] == "true" ? "enabled" : "disabled"
        )
        _ = try await backups.restore(try call.uuid("backup_id", notFound: "Backup"), body, call.context, pass)
        return ConsolePages.redirect(to: backupsPath(project))
    }

    @Sendable func deleteBackup(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        try await backups.deleteBackup(try call.uuid("backup_id", notFound: "Backup"), call.context, pass)
        return ConsolePages.redirect(to: backupsPath(project))
    }

    // MARK: Backup schedules

    /// An index's schedules as its page lists them, or why there are none to show (the plan's gate).
    func scheduleRows(_ pass: AuthorizationPass, index: String, project: UUID) async throws -> (rows: [[String: Any]], unavailable: String?) {
        do {
            let rows = try await schedules.backups.schedules(pass, indexName: index).sorted { $0.createdAt < $1.createdAt }.map { schedule -> [String: Any] in
                [
                    "id": schedule.id.lowercasedString, "name": schedule.name, "frequency": schedule.frequency.rawValue, "days": schedule.retentionDays,
                    "enabled": schedule.enabled, "next": schedule.next.map { ConsolePages.date($0.at) } ?? "—",
                    "path": "/console/projects/\(project.lowercasedString)/backup-schedules/\(schedule.id.lowercasedString)",
                ]
            }
            return (rows, nil)
        } catch let error as ConiferError where error.code == .forbidden {
            return ([], error.message)
        }
    }

    @Sendable func createSchedule(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let index = try call.parameter("index_name")
        let body = CreateBackupScheduleRequestWire(
            name: call.field("name"), schedule: .init(type: "time-based", frequency: call.field("frequency")),
            retention: RetentionWire(expire_after_days: try Self.retentionDays(call))
        )
        _ = try await schedules.create(index: index, body, call.context, pass)
        return ConsolePages.redirect(to: indexPath(project, index) + "#schedules")
    }

    /// Pauses or resumes a schedule (`enabled`), or changes its cadence and retention (the fields the form fills).
    @Sendable func updateSchedule(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let body = UpdateBackupScheduleRequestWire(
            frequency: call.form["frequency"], retention: try call.form["retention_days"].map { _ in RetentionWire(expire_after_days: try Self.retentionDays(call)) },
            enabled: call.form["enabled"].map { $0 == "true" }
        )
        let schedule = try await schedules.update(try call.uuid("schedule_id", notFound: "Backup schedule"), body, call.context, pass)
        return ConsolePages.redirect(to: indexPath(project, schedule.indexName) + "#schedules")
    }

    @Sendable func deleteSchedule(_ call: ConsoleCall) async throws -> Response {
        let (project, pass) = try projectPass(call, .indexesWrite)
        let deleted = try await schedules.delete(try call.uuid("schedule_id", notFound: "Backup schedule"), call.context, pass)
        return ConsolePages.redirect(to: indexPath(project, deleted.indexName) + "#schedules")
    }

    private static func retentionDays(_ call: ConsoleCall) throws(ConiferError) -> Int {
        guard let days = Int(call.field("retention_days")) else { throw .invalidArgument("Keep backups for a whole number of days.") }
        return days
    }
}
