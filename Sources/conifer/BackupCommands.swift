import ArgumentParser
import Foundation

/// `conifer backup …` and `conifer restore-job …`: backups of indexes and the jobs that restore them, with
/// the key of the project (like `conifer index`).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Back up indexes, list, describe and delete backups, and restore one into a new index.",
        subcommands: [Create.self, List.self, Describe.self, Delete.self, Restore.self]
    )
    static let header = ["ID", "NAME", "INDEX", "RECORDS", "NAMESPACES", "BYTES", "CREATED"]

    static func row(_ backup: [String: Any]) -> [String] {
        ["backup_id", "name", "source_index_name", "record_count", "namespace_count", "size_bytes", "created_at"].map { describe(backup[$0]) }
    }

    static func show(_ reply: ServerClient.Reply, json: Bool, list: Bool) {
        if json { return printJSON(reply.raw) }
        let object = reply.body as? [String: Any] ?? [:]
        printTable(header, list ? (object["data"] as? [[String: Any]] ?? []).map(row) : [row(object)])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Back up an index now (every write acknowledged before, none after).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Index name.") var index: String
        @Option(name: .shortAndLong, help: "Backup name (default backup-<time>).") var name: String?
        @Option(help: "Description.") var description: String?
        func run() async throws {
            try await runReportingErrors {
                let reply = try await options.client().send(.POST, "/indexes/\(pathComponent(index))/backups", body: BackupBody(name: name, description: description))
                BackupCommand.show(reply, json: options.json, list: false)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the project's backups (of one index with --index).")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only this index's backups.") var index: String?
        func run() async throws {
            try await runReportingErrors {
                let path = index.map { "/indexes/\(pathComponent($0))/backups?limit=100" } ?? "/backups?limit=100"
                BackupCommand.show(try await options.client().send(.GET, path), json: options.json, list: true)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one backup.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Backup id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                BackupCommand.show(try await options.client().send(.GET, "/backups/\(pathComponent(id))"), json: options.json, list: false)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a backup (its data key with it).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Backup id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                _ = try await options.client().send(.DELETE, "/backups/\(pathComponent(id))")
                print("Deleted backup \(id).")
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new index from a backup (a restore job).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Backup id.") var id: String
        @Option(name: .shortAndLong, help: "Name of the new index.") var name: String
        @Option(help: "enabled or disabled.") var deletionProtection: String?
        @Option(name: .customLong("tag"), help: "A tag as key=value (repeatable; default: the source's tags).") var tags: [String] = []
        func run() async throws {
            try await runReportingErrors {
                let body = RestoreBody(name: name, deletionProtection: deletionProtection, tags: tags.isEmpty ? nil : try parseTags(tags))
                let reply = try await options.client().send(.POST, "/backups/\(pathComponent(id))/create-index", body: body)
                if options.json { return printJSON(reply.raw) }
                let object = reply.body as? [String: Any] ?? [:]
                print("Restore job \(describe(object["restore_job_id"])) is creating index \(name) (\(describe(object["index_id"]))).")
            }
        }
    }
}

struct RestoreJobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-job", abstract: "List and describe the jobs that restore backups.", subcommands: [List.self, Describe.self]
    )
    static let header = ["ID", "BACKUP", "INDEX", "STATUS", "PERCENT", "CREATED", "COMPLETED", "ERROR"]

    static func row(_ job: [String: Any]) -> [String] {
        ["restore_job_id", "backup_id", "target_index_name", "status", "percent_complete", "created_at", "completed_at", "error"].map { describe(job[$0]) }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await runReportingErrors {
                let reply = try await options.client().send(.GET, "/restore-jobs?limit=100")
                if options.json { return printJSON(reply.raw) }
                printTable(RestoreJobCommand.header, ((reply.body as? [String: Any])?["data"] as? [[String: Any]] ?? []).map(RestoreJobCommand.row))
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        @OptionGroup var options: ClientOptions
        @Argument(help: "Restore job id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                let reply = try await options.client().send(.GET, "/restore-jobs/\(pathComponent(id))")
                if options.json { return printJSON(reply.raw) }
                printTable(RestoreJobCommand.header, [RestoreJobCommand.row(reply.body as? [String: Any] ?? [:])])
            }
        }
    }
}

struct BackupBody: Encodable {
    var name: String?
    var description: String?
}

struct RestoreBody: Encodable {
    var name: String
    var deletionProtection: String?
    var tags: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name, tags, deletionProtection = "deletion_protection"
    }
}
