@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Backups and restore jobs through the control plane: a backup keeps the index's records as they were, a
/// restore job makes a new index that answers like the source did (visible only once complete), and the
/// rules (plan, CMEK, names, project deletion, a damaged file, a restart during a job).
@Suite struct BackupTests {
    static let vectors = (0..<40).map { #"{"id":"v\#($0)","values":[\#($0),1,\#($0 % 3)],"metadata":{"n":\#($0)}}"# }.joined(separator: ",")

    static func waitForJob(_ client: some TestClientProtocol, _ id: String, key: String = TestServer.bootstrapKey) async throws -> [String: Any] {
        for _ in 0..<3000 {  // up to a minute on a loaded machine
            let job = try await client.call(.get, "/restore-jobs/\(id)", key: key).json
            if ["Completed", "Failed"].contains(job["status"] as? String ?? "") { return job }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("restore job \(id) did not end")
    }

    @Test func aBackupRestoresIntoANewIndexThatAnswersLikeTheSource() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("source", extra: #","tags":{"team":"search"}"#).status == 201)
            let data = "/data/\(project)"
            #expect(try await client.call(.post, "\(data)/source/vectors/upsert", body: #"{"vectors":[\#(Self.vectors)],"namespace":"a"}"#).status == 200)
            #expect(try await client.call(.post, "\(data)/source/namespaces", body: #"{"name":"empty"}"#, ).status < 300)

            let made = try await client.call(.post, "/indexes/source/backups", body: #"{"name":"nightly","description":"before the migration"}"#)
            #expect(made.status == 201, "\(made.text)")
            let backup = made.json
            let backupID = try #require(backup["backup_id"] as? String)
            #expect(backup["source_index_name"] as? String == "source" && backup["status"] as? String == "Ready")
            #expect(backup["record_count"] as? Int == 40 && backup["namespace_count"] as? Int == 2 && backup["dimension"] as? Int == 3)
            #expect(backup["cloud"] as? String == "aws" && backup["region"] as? String == "us-east-1" && backup["metric"] as? String == "cosine")
            #expect((backup["size_bytes"] as? Int ?? 0) > 0 && backup["description"] as? String == "before the migration")
            #expect(try await client.call(.post, "/indexes/source/backups", version: "2026-07", body: "{}").status == 200, "2026-07 answers 200")

            // Writes after the backup are not in it.
            #expect(try await client.call(.post, "\(data)/source/vectors/delete", body: #"{"deleteAll":true,"namespace":"a"}"#).status == 200)

            let listed = try await client.call(.get, "/indexes/source/backups?limit=1")
            #expect((listed.json["data"] as? [[String: Any]])?.count == 1)
            let next = try #require((listed.json["pagination"] as? [String: Any])?["next"] as? String)
            #expect((try await client.call(.get, "/indexes/source/backups?limit=1&paginationToken=\(next)").json["data"] as? [Any])?.count == 1)
            #expect((try await client.call(.get, "/backups").json["data"] as? [Any])?.count == 2)
            #expect(try await client.call(.get, "/backups/\(backupID)").json["name"] as? String == "nightly")

            let started = try await client.call(.post, "/backups/\(backupID)/create-index", body: #"{"name":"restored","deletion_protection":"enabled"}"#)
            #expect(started.status == 202, "\(started.text)")
            let jobID = try #require(started.json["restore_job_id"] as? String)
            let job = try await Self.waitForJob(client, jobID)
            #expect(job["status"] as? String == "Completed" && job["percent_complete"] as? Double == 100, "\(job)")
            #expect(job["target_index_id"] as? String == started.json["index_id"] as? String && job["backup_id"] as? String == backupID)
            let restored = try await client.call(.get, "/indexes/restored")
            #expect(restored.status == 200 && restored.json["deletion_protection"] as? String == "enabled" && restored.json["dimension"] as? Int == 3)
            #expect(restored.json["tags"] as? [String: String] == ["team": "search"])
            let stats = try await client.call(.post, "\(data)/restored/describe_index_stats", body: "{}").json
            #expect(stats["totalVectorCount"] as? Int == 40)
            #expect((stats["namespaces"] as? [String: Any])?.keys.sorted() == ["a", "empty"])
            let query = #"{"vector":[7,1,1],"topK":3,"namespace":"a","includeMetadata":true}"#
            let answer = try await client.call(.post, "\(data)/restored/query", body: query).json["matches"] as? [[String: Any]]
            #expect(answer?.compactMap { $0["id"] as? String }.count == 3)
            #expect((try await client.call(.get, "/restore-jobs").json["data"] as? [Any])?.count == 1)

            // Names: a taken one is 409; deleting the source keeps its backups; deleting a backup removes it.
            #expect(try await client.call(.post, "/backups/\(backupID)/create-index", body: #"{"name":"restored"}"#).status == 409)
            #expect(try await client.call(.post, "/backups/\(backupID)/create-index", body: #"{"name":"Bad Name"}"#).status == 400)
            #expect(try await client.call(.post, "/backups/\(UUID().uuidString)/create-index", body: #"{"name":"x"}"#).status == 404)
            #expect(try await client.call(.delete, "/indexes/source").status == 202)
            #expect(try await client.call(.get, "/backups/\(backupID)").status == 200)
            #expect(try await client.call(.delete, "/backups/\(backupID)").status == 202)
            #expect(try await client.call(.get, "/backups/\(backupID)").status == 404)
            #expect(try await client.call(.post, "/indexes/missing/backups", body: "{}").status == 404)
        }
    }

    @Test func aDamagedBackupFailsItsJobAndLeavesNoIndex() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("fragile").status == 201)
            _ = try await client.call(.post, "/data/\(project)/fragile/vectors/upsert", body: #"{"vectors":[\#(Self.vectors)]}"#)
            let backupID = try #require(try await client.call(.post, "/indexes/fragile/backups", body: #"{"name":"b"}"#).json["backup_id"] as? String)
            let file = server.configuration.dataDirectory.appendingPathComponent("backups/\(backupID).backup")
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 2] ^= 0x20
            try bytes.write(to: file)
            let started = try await client.call(.post, "/backups/\(backupID)/create-index", body: #"{"name":"from-damaged"}"#)
            let job = try await Self.waitForJob(client, try #require(started.json["restore_job_id"] as? String))
            #expect(job["status"] as? String == "Failed" && (job["error"] as? String)?.contains("cannot be read") == true, "\(job)")
            #expect(try await client.call(.get, "/indexes/from-damaged").status == 404)
            let indexDirectory = server.configuration.dataDirectory.appendingPathComponent("indexes/\(try #require(started.json["index_id"] as? String))")
            #expect(!FileManager.default.fileExists(atPath: indexDirectory.path))
        }
    }

    @Test func plansCMEKAndProjectsSetTheRules() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            #expect(try await client.createIndex("ruled").status == 201)
            _ = try await server.admin.setPlan(.starter, organization: nil)
            let starter = try await client.call(.post, "/indexes/ruled/backups", body: "{}")
            #expect(starter.status == 402, "\(starter.text)")
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.call(.post, "/indexes/ruled/backups", body: #"{"name":"UPPER"}"#).status == 400)
            #expect(try await client.call(.post, "/indexes/ruled/backups", body: #"{"name":"ok","colour":"red"}"#).status == 422, "an unknown field, as for indexes")
            #expect(try await client.call(.post, "/indexes/ruled/backups", body: #"{"name":"ok"}"#).status == 201)

            // A project with a backup is not deleted.
            let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"kept"}"#)
            let kept = try #require(created.json["id"] as? String)
            let key = try #require(try await client.admin(.post, "/admin/projects/\(kept)/api-keys", token: owner, body: #"{"name":"k"}"#).json["value"] as? String)
            #expect(try await client.createIndex("held", key: key).status == 201)
            let backupID = try #require(try await client.call(.post, "/indexes/held/backups", key: key, body: "{}").json["backup_id"] as? String)
            #expect(try await client.call(.delete, "/indexes/held", key: key).status == 202)
            let refused = try await client.admin(.delete, "/admin/projects/\(kept)", token: owner)
            #expect(refused.status == 412 && refused.message?.contains("backup") == true, "\(refused.text)")
            #expect(try await client.call(.delete, "/backups/\(backupID)", key: key).status == 202)
            #expect(try await client.admin(.delete, "/admin/projects/\(kept)", token: owner).status == 202)
        }
    }

    /// Pinecone's object limits: 500 backups per project on Standard (scheduled ones included), 100 collections.
    /// At the limit a new one is refused with 403 before any file is written; deleting one makes room.
    @Test func aProjectHoldsAtMostItsPlansNumberOfBackupsAndCollections() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.run(directory: directory) { server, client in
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.call(.post, "/indexes", body: #"{"name":"pods","dimension":3,"metric":"cosine",\#(CollectionTests.podSpec)}"#).status == 201)
            let source = try await server.catalog.index(named: "pods", pass: try #require(try await server.catalog.authenticate(apiKey: TestServer.bootstrapKey)).authorize(.indexesRead))
            // Rows as earlier backups left them (their files do not matter here).
            for (count, collection) in [(499, false), (99, true)] {
                for i in 0..<count {
                    try await server.catalog.insertBackup(BackupRecord(
                        id: UUID(), name: "old-\(i)", description: nil, source: source, recordCount: 0, namespaceCount: 0, sizeBytes: 0, createdAt: Date(),
                        isCollection: collection
                    ), dataKey: .init(size: .bits256))
                }
            }
            let files = { Set((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("backups").path)) ?? []) }
            let last = try await client.call(.post, "/indexes/pods/backups", body: #"{"name":"last"}"#)
            #expect(last.status == 201, "\(last.text)")
            #expect(try await client.call(.post, "/collections", body: #"{"name":"last","source":"pods"}"#).status == 201)
            let before = files()
            let backup = try await client.call(.post, "/indexes/pods/backups", body: #"{"name":"one-too-many"}"#)
            #expect(backup.status == 403 && backup.message?.contains("500 backups") == true, "\(backup.text)")
            let collection = try await client.call(.post, "/collections", body: #"{"name":"one-too-many","source":"pods"}"#)
            #expect(collection.status == 403 && collection.message?.contains("100 collections") == true, "\(collection.text)")
            #expect(files() == before, "nothing was written for the refused ones")
            #expect(try await client.call(.delete, "/backups/\(try #require(last.json["backup_id"] as? String))").status == 202)
            #expect(try await client.call(.post, "/indexes/pods/backups", body: #"{"name":"room-again"}"#).status == 201)
        }
    }

    /// Second attack run, finding 13: customer free text (index tag values, backup descriptions, and the index
    /// definitions backups keep) is sealed in the catalog; grep finds none of it in any file of the data directory,
    /// and every answer still shows it.
    @Test func tagValuesAndBackupDescriptionsAreNotStoredInClear() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (tag, description) = ("tagvalue7f3q9zk", "descriptionx8w2mv")
        try await TestServer.run(directory: directory) { _, client in
            #expect(try await client.createIndex("tagged", extra: #","tags":{"team":"\#(tag)"}"#).status == 201)
            let backup = try await client.call(.post, "/indexes/tagged/backups", body: #"{"name":"b","description":"\#(description)"}"#)
            #expect(backup.status == 201 && backup.json["description"] as? String == description, "\(backup.text)")
            #expect(((try await client.call(.get, "/indexes/tagged").json["tags"] as? [String: String]))?["team"] == tag)
            #expect(((try await client.call(.get, "/backups").json["data"] as? [[String: Any]])?.first?["description"] as? String) == description)
        }
        let files = try #require(FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)?.allObjects as? [URL])
        for file in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let bytes = try Data(contentsOf: file)
            for secret in [tag, description] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in clear in \(file.lastPathComponent)")
            }
        }
    }

    /// A job a stopped server left running is reported failed at the next start, and its index never appears.
    @Test func aJobInterruptedByAStopEndsFailed() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let jobID = UUID()
        try await TestServer.run(directory: directory) { server, client in
            #expect(try await client.createIndex("src").status == 201)
            let backupID = try #require(try await client.call(.post, "/indexes/src/backups", body: "{}").json["backup_id"] as? String)
            let project = try #require(server.bootstrap).projectID
            // As a server killed mid-job leaves it.
            try await server.catalog.insertRestoreJob(RestoreJob(
                id: jobID, projectID: project, backupID: try #require(UUID(uuidString: backupID)), targetIndexID: UUID(), targetIndexName: "half",
                status: .inProgress, percentComplete: 40, error: nil, createdAt: Date(), completedAt: nil
            ))
            let principal = try #require(try await server.catalog.authenticate(apiKey: TestServer.bootstrapKey))
            _ = try await server.catalog.createIndex(
                IndexCreation(name: "half", dimension: 3, restoreJobID: jobID), pass: principal.authorize(.indexesWrite)
            )
            let listed = try await client.call(.get, "/indexes/half").json
            #expect((listed["status"] as? [String: Any])?["state"] as? String == "Initializing", "listed, not ready, while restoring")
            #expect(try await client.call(.post, "/data/\(project.uuidString.lowercased())/half/query", body: #"{"vector":[1,0,0],"topK":1}"#).status == 503)
        }
        try await TestServer.run(directory: directory, bootstrapKey: TestServer.bootstrapKey) { _, client in
            let job = try await client.call(.get, "/restore-jobs/\(jobID.uuidString)").json
            #expect(job["status"] as? String == "Failed" && (job["error"] as? String)?.contains("server stopped") == true, "\(job)")
            #expect(try await client.call(.get, "/indexes/half").status == 404)
        }
    }

    @Test func filesAStopLeftWithoutTheirBackupAreRemovedAtStart() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backups = directory.appendingPathComponent("backups")
        let kept = BackupScheduleTests.Text()
        try await TestServer.run(directory: directory) { _, client in
            #expect(try await client.createIndex("src").status == 201)
            let id = try #require(try await client.call(.post, "/indexes/src/backups", body: "{}").json["backup_id"] as? String)
            kept.value.withLock { $0 = id }
        }
        // As a stop between writing a backup's file and recording it leaves it, and an unfinished S3 download.
        // And a file a SIGKILL left half written (second attack run, finding 11), in the backup directory and in the
        // data directory (key files).
        let stray = [
            "\(UUID().uuidString.lowercased()).backup", "\(UUID().uuidString.lowercased()).\(UUID().uuidString.lowercased()).download",
            "tmp-\(UUID().uuidString)",
        ]
        for name in stray + ["notes.txt"] { try Data("x".utf8).write(to: backups.appendingPathComponent(name)) }
        let halfKey = directory.appendingPathComponent("tmp-\(UUID().uuidString)")
        try Data("x".utf8).write(to: halfKey)
        try await TestServer.run(directory: directory) { _, client in
            let names = Set(try FileManager.default.contentsOfDirectory(atPath: backups.path))
            #expect(names == ["\(kept.value.withLock { $0 }).backup", "notes.txt"])
            #expect(!FileManager.default.fileExists(atPath: halfKey.path))
            let backup = kept.value.withLock { $0 }
            #expect(try await client.call(.post, "/backups/\(backup)/create-index", body: #"{"name":"back"}"#).status == 202)
        }
    }
}
