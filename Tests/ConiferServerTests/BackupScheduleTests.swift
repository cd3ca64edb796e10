@testable import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing
@testable import ConiferServer

/// Backup schedules on a clock the test moves: runs are taken on cadence (one per slot, with the id and name
/// the history showed before), backups expire after the retention, changes re-plan, and a restart neither
/// skips nor doubles a run.
@Suite struct BackupScheduleTests {
    /// The scheduler's time, moved by the test (the scheduler's own service sleeps an hour between passes, so
    /// only the test's `runSchedules()` calls take runs).
    final class Clock: Sendable {
        let time = Mutex(ISO8601DateFormatter().date(from: "2026-12-01T00:00:00Z")!)
        var now: Date { time.withLock { $0 } }
        func advance(days: Double) { time.withLock { $0 = $0.addingTimeInterval(days * 86_400) } }
        var schedule: ScheduleClock { ScheduleClock(now: { [self] in now }, checkEvery: .seconds(3600)) }
    }

    final class Text: Sendable {
        let value = Mutex("")
    }

    static func history(_ client: some TestClientProtocol, _ id: String) async throws -> [[String: Any]] {
        try #require(try await client.call(.get, "/backup-schedules/\(id)/history?limit=100").json["data"] as? [[String: Any]])
    }

    @Test func runsOnCadenceExpireAfterRetentionAndFollowChanges() async throws {
        let clock = Clock()
        try await TestServer.run(configure: { $0.scheduleClock = clock.schedule }) { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("orders").status == 201)
            #expect(try await client.call(.post, "/data/\(project)/orders/vectors/upsert", body: #"{"vectors":[\#(BackupTests.vectors)]}"#).status == 200)
            let body = #"{"name":"weekly","schedule":{"type":"time-based","frequency":"weekly"},"retention":{"expire_after_days":14}}"#

            let created = try await client.call(.post, "/indexes/orders/backup-schedules", version: "2026-07", body: body)
            #expect(created.status == 201, "\(created.text)")
            let schedule = created.json
            let id = try #require(schedule["schedule_id"] as? String)
            #expect(schedule["name"] as? String == "weekly" && schedule["schedule_type"] as? String == "time-based")
            #expect(schedule["frequency"] as? String == "weekly" && schedule["retention_expire_after_days"] as? Int == 14)
            #expect(schedule["enabled"] as? Bool == true && schedule["project_id"] as? String == project)
            #expect(schedule["next_scheduled_run"] as? String == "2026-12-08T00:00:00Z" && schedule["created_at"] as? String == "2026-12-01T00:00:00Z")

            // Bad requests change nothing; a second enabled schedule of the index is a conflict.
            #expect(try await client.call(.post, "/indexes/orders/backup-schedules", body: body).status == 409)
            for bad in [
                body.replacingOccurrences(of: "weekly\"}", with: "hourly\"}"), body.replacingOccurrences(of: "14", with: "0"),
                body.replacingOccurrences(of: "time-based", with: "cron"), body.replacingOccurrences(of: "\"weekly\",\"s", with: "\"Bad Name\",\"s"),
            ] {
                #expect(try await client.call(.post, "/indexes/orders/backup-schedules", body: bad).status == 400, "\(bad)")
            }
            #expect(try await client.call(.post, "/indexes/missing/backup-schedules", body: body).status == 404)
            #expect(try await client.call(.get, "/backup-schedules/\(UUID().uuidString)").status == 404)
            #expect(try await client.call(.get, "/backup-schedules/not-an-id").status == 404)
            #expect((try await client.call(.get, "/indexes/orders/backup-schedules").json["data"] as? [Any])?.count == 1)

            // Nothing is due before the first run; the planned run is in the history with the id its backup gets.
            #expect(await server.backups.runSchedules().taken == 0)
            let planned = try await Self.history(client, id)
            #expect(planned.count == 1 && planned[0]["status"] as? String == "Initializing" && planned[0]["name"] as? String == "weekly-20261208T000000Z")
            let plannedID = try #require(planned[0]["backup_id"] as? String)

            clock.advance(days: 7)
            #expect(await server.backups.runSchedules().taken == 1)
            #expect(await server.backups.runSchedules().taken == 0, "a run is taken once")
            var history = try await Self.history(client, id)
            #expect(history.map { $0["name"] as? String } == ["weekly-20261215T000000Z", "weekly-20261208T000000Z"])
            #expect(history.map { $0["status"] as? String } == ["Initializing", "Ready"])
            #expect(history[1]["backup_id"] as? String == plannedID && history[1]["record_count"] as? Int == 40)
            #expect(history[1]["source_index_id"] as? String == schedule["index_id"] as? String)
            let first = try await client.call(.get, "/backups/\(plannedID)")
            #expect(first.status == 200 && first.json["source_index_name"] as? String == "orders")
            let file = server.configuration.dataDirectory.appendingPathComponent("backups/\(plannedID).backup")
            #expect(FileManager.default.fileExists(atPath: file.path))

            // Retention: the first backup (taken 12-08, kept 14 days) is gone on 12-23, row and file.
            clock.advance(days: 7)
            #expect(await server.backups.runSchedules() == (1, 0))
            clock.advance(days: 8)
            #expect(await server.backups.runSchedules() == (1, 1))
            #expect(try await client.call(.get, "/backups/\(plannedID)").status == 404)
            #expect(!FileManager.default.fileExists(atPath: file.path))
            history = try await Self.history(client, id)
            #expect(history.count == 3, "the planned run and the two backups kept")

            // A shorter retention re-times the backups already taken: the one of 12-15 goes, today's stays a day.
            let shorter = try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"retention":{"expire_after_days":1}}"#)
            #expect(shorter.status == 200 && shorter.json["retention_expire_after_days"] as? Int == 1 && shorter.json["frequency"] as? String == "weekly")
            #expect(await server.backups.runSchedules() == (0, 1))
            #expect(try await Self.history(client, id).count == 2)

            // Disabled: no next run, nothing taken; another schedule may be enabled, and then this one may not.
            let disabled = try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"enabled":false}"#)
            #expect(disabled.status == 200 && disabled.json["enabled"] as? Bool == false)
            #expect(disabled.json.keys.contains("next_scheduled_run") && disabled.json["next_scheduled_run"] is NSNull)
            clock.advance(days: 30)
            #expect(await server.backups.runSchedules().taken == 0)
            let other = try await client.call(.post, "/indexes/orders/backup-schedules", body: body.replacingOccurrences(of: "\"weekly\",\"s", with: "\"other\",\"s"))
            #expect(other.status == 201)
            #expect(try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"enabled":true}"#).status == 409)
            #expect(try await client.call(.delete, "/backup-schedules/\(try #require(other.json["schedule_id"] as? String))").status == 204)
            let enabled = try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"enabled":true}"#)
            #expect(enabled.status == 200 && enabled.json["next_scheduled_run"] as? String == "2027-01-29T00:00:00Z", "planned from now: \(enabled.text)")
            let daily = try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"frequency":"daily"}"#)
            #expect(daily.json["next_scheduled_run"] as? String == "2027-01-23T00:00:00Z" && daily.json["frequency"] as? String == "daily")
            #expect(try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"frequency":"hourly"}"#).status == 400)
            #expect([400, 422].contains(try await client.call(.patch, "/backup-schedules/\(id)", body: #"{"name":"renamed"}"#).status))

            // Deleting the schedule keeps its backups; deleting the index deletes its schedules.
            clock.advance(days: 1)
            #expect(await server.backups.runSchedules().taken == 1)
            let kept = try #require(try await Self.history(client, id).last?["backup_id"] as? String)
            #expect(try await client.call(.delete, "/backup-schedules/\(id)").status == 204)
            #expect(try await client.call(.get, "/backup-schedules/\(id)").status == 404)
            #expect(try await client.call(.get, "/backups/\(kept)").status == 200)
            let again = try await client.call(.post, "/indexes/orders/backup-schedules", body: body)
            #expect(try await client.call(.delete, "/indexes/orders").status == 202)
            #expect(try await client.call(.get, "/backup-schedules/\(try #require(again.json["schedule_id"] as? String))").status == 404)

            // Audited: the schedules' changes by their callers, the scheduler's backups and retention's deletions by
            // the system actor.
            let owner = try await client.token()
            func succeeded(_ type: String) async throws -> [(action: String, actor: String, id: String)] {
                let listed = try await client.admin(.get, "/admin/audit-events?limit=1000&resource_type=\(type)", token: owner)
                let events = listed.json["data"] as? [[String: Any]] ?? []
                #expect(listed.status == 200, "\(listed.text)")
                return events.compactMap { event in
                    let body = event["event"] as? [String: Any]
                    guard (body?["outcome"] as? [String: Any])?["result"] as? String == "success" else { return nil }
                    return (body?["action"] as? String ?? "", (event["actor"] as? [String: Any])?["principal_type"] as? String ?? "", body?["resource_id"] as? String ?? "")
                }
            }
            let schedules = try await succeeded("backup-schedule")
            #expect(schedules.filter { $0.action == "create" }.count == 3 && schedules.filter { $0.action == "update" }.count == 4)
            #expect(schedules.filter { $0.action == "delete" }.map(\.id).sorted() == ["other", "weekly"])
            let system = try await succeeded("backup").filter { $0.actor == "system" }
            #expect(system.filter { $0.action == "create" }.count == 4 && system.filter { $0.action == "delete" }.count == 3, "\(system)")
            #expect(system.contains { $0.action == "delete" && $0.id == "weekly-20261208T000000Z" })
        }
    }

    @Test func aRestartNeitherSkipsNorDoublesARun() async throws {
        let clock = Clock()
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let id = Text()
        try await TestServer.run(directory: directory, configure: { $0.scheduleClock = clock.schedule }) { _, client in
            #expect(try await client.createIndex("ledger").status == 201)
            let body = #"{"name":"daily","schedule":{"type":"time-based","frequency":"daily"},"retention":{"expire_after_days":30}}"#
            let created = try await client.call(.post, "/indexes/ledger/backup-schedules", body: body)
            id.value.withLock { $0 = created.json["schedule_id"] as? String ?? "" }
        }
        let schedule = id.value.withLock { $0 }

        // A run fell due while the server was stopped: taken once after the start, the next one planned as before.
        clock.advance(days: 1.05)
        try await TestServer.run(directory: directory, configure: { $0.scheduleClock = clock.schedule }) { server, client in
            #expect(await server.backups.runSchedules().taken == 1)
            #expect(await server.backups.runSchedules().taken == 0)
            let history = try await Self.history(client, schedule)
            #expect(history.map { $0["name"] as? String } == ["daily-20261203T000000Z", "daily-20261202T000000Z"])
        }

        // Three and a half days stopped: one backup for the runs missed, then the cadence goes on from its slots.
        clock.advance(days: 3.5)
        try await TestServer.run(directory: directory, configure: { $0.scheduleClock = clock.schedule }) { server, client in
            #expect(await server.backups.runSchedules().taken == 1)
            #expect(await server.backups.runSchedules().taken == 0)
            let history = try await Self.history(client, schedule)
            #expect(history.map { $0["name"] as? String } == ["daily-20261206T000000Z", "daily-20261203T000000Z", "daily-20261202T000000Z"])
            #expect(try await client.call(.get, "/backup-schedules/\(schedule)").json["next_scheduled_run"] as? String == "2026-12-06T00:00:00Z")
        }
    }

    @Test func starterPlansAndPodIndexesHaveNoSchedules() async throws {
        try await TestServer.run { server, client in
            #expect(try await client.call(
                .post, "/indexes", body: #"{"name":"pods","dimension":4,"metric":"cosine","spec":{"pod":{"environment":"us-east1-gcp","pod_type":"p1.x1"}}}"#
            ).status == 201)
            let body = #"{"name":"nightly","schedule":{"type":"time-based","frequency":"daily"},"retention":{"expire_after_days":7}}"#
            let pod = try await client.call(.post, "/indexes/pods/backup-schedules", body: body)
            #expect(pod.status == 400 && pod.message?.contains("collection") == true, "\(pod.text)")

            #expect(try await client.createIndex("small").status == 201)
            let made = try await client.call(.post, "/indexes/small/backup-schedules", body: body)
            #expect(made.status == 201)
            _ = try await server.admin.setPlan(.starter, organization: nil)
            for (method, path) in [
                (HTTPRequest.Method.post, "/indexes/small/backup-schedules"), (.get, "/indexes/small/backup-schedules"),
                (.get, "/backup-schedules/\(UUID().uuidString)"), (.delete, "/backup-schedules/\(try #require(made.json["schedule_id"] as? String))"),
            ] {
                let refused = try await client.call(method, path, body: method == .post ? body : nil)
                #expect(refused.status == 403 && refused.message?.contains("plan") == true, "\(path): \(refused.text)")
            }
        }
    }
}
