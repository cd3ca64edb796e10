import ArgumentParser
import ConiferAccess
import Foundation

/// `conifer audit …`: read the organization's audit events and manage their export to S3 (organization
/// owners; the export needs the Enterprise plan).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read audit events and manage their export to S3.",
        subcommands: [Events.self, Status.self, Enable.self, Pause.self, Resume.self, Disable.self, Verify.self]
    )

    /// `conifer audit verify --data-dir DIR`: an operator command on the data directory (the server stopped) that
    /// checks the audit log's hash chain and names the first event deleted or altered.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit log in a data directory for deleted or altered events (run with the server stopped).",
            discussion: "Exits 0 when every link verifies, 1 naming the first broken one."
        )
        @OptionGroup var storage: DataDirectoryOptions

        func run() async throws {
            try await runReportingErrors {
                // A data directory's catalog is checked with its server stopped; a shared one is read in one snapshot.
                let lock = try storage.catalogLocation() == nil ? try storage.lock() : nil
                defer { withExtendedLifetime(lock) {} }
                let catalog = try await storage.openCatalog()
                defer { catalog.close() }
                if let broken = try await catalog.verifyAuditChain() {
                    throw ClientError("The audit log is broken at \(broken).")
                }
                print("The audit log's chain holds.")
            }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit events, newest first.")
        @OptionGroup var options: AdminOptions
        @Option(help: "At most this many events (1 to 1000).") var limit: Int = 100
        @Option(help: "Only this action (create, update, delete, login, ...).") var action: String?
        @Option(help: "Only this resource type (project, index, api-key, user, ...).") var resourceType: String?
        @Option(help: "Only this actor's principal id.") var principalId: String?
        @Option(help: "Only events at or after this RFC 3339 time.") var since: String?
        @Option(help: "Only events at or before this RFC 3339 time.") var until: String?
        @Option(help: "Continue from a previous page's token.") var paginationToken: String?

        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                var query = URLComponents()
                query.queryItems = [
                    ("limit", String(limit)), ("action", action), ("resource_type", resourceType), ("principal_id", principalId),
                    ("since", since), ("until", until), ("paginationToken", paginationToken),
                ].compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
                let reply = try await session.client().send(.GET, "/admin/audit-events?" + (query.percentEncodedQuery ?? ""))
                if options.json { return printJSON(reply.raw) }
                let object = reply.body as? [String: Any] ?? [:]
                let rows = (object["data"] as? [[String: Any]] ?? []).map { event -> [String] in
                    let body = event["event"] as? [String: Any] ?? [:]
                    let actor = event["actor"] as? [String: Any] ?? [:]
                    let outcome = body["outcome"] as? [String: Any] ?? [:]
                    let resource = body["resource_id"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed, .sortedKeys]) }
                    return [
                        describe(body["time"]), describe(body["action"]), describe(body["resource_type"]),
                        resource.map { String(decoding: $0, as: UTF8.self) } ?? "-",
                        "\(describe(actor["principal_type"])):\(describe(actor["principal_name"]))",
                        [outcome["result"], outcome["error_code"]].compactMap { $0 as? String }.joined(separator: " "),
                    ]
                }
                printTable(["TIME", "ACTION", "RESOURCE_TYPE", "RESOURCE_ID", "ACTOR", "RESULT"], rows)
                if let next = (object["pagination"] as? [String: Any])?["next"] as? String { print("More: --pagination-token \(next)") }
            }
        }
    }

    static let columns = ["enabled", "state", "bucket", "region", "batch_interval_seconds"]

    /// Sends one call of `/admin/audit-log` and prints the export settings and delivery status it answers with.
    static func settings(_ method: ServerClient.HTTPMethod, body: AuditLogBody? = nil, json: Bool) async throws {
        try await runReportingErrors {
            var session = try CLISession.load()
            printStatus(try await session.client().send(method, "/admin/audit-log", body: body), json: json)
        }
    }

    static func printStatus(_ reply: ServerClient.Reply, json: Bool) {
        if json { return printJSON(reply.raw) }
        show(reply, json: false, columns: columns, list: false)
        if let status = (reply.body as? [String: Any])?["export"] as? [String: Any] {
            let names = ["pending_batches", "unbatched_events", "last_success_at", "last_error_at", "last_error"]
            printTable(names.map { $0.uppercased() }, [names.map { describe(status[$0]) }])
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the export settings, last delivery and backlog.")
        @OptionGroup var options: AdminOptions

        func run() async throws { try await AuditCommand.settings(.GET, json: options.json) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export audit events to an S3 bucket (writes audit-log-access-test first).")
        @OptionGroup var options: AdminOptions
        @Option(help: "Bucket, optionally with a prefix: name or name/sub/dir.") var bucket: String
        @Option(help: "The bucket's region (default: the server's AWS_REGION).") var region: String?
        @Option(help: "An IAM role to assume for the writes.") var roleArn: String?
        @Option(help: "The external id the role's trust policy requires.") var externalId: String?
        @Option(help: "An S3-compatible endpoint instead of AWS.") var endpointUrl: String?
        @Option(help: "Seconds between batches (default 1800).") var batchIntervalSeconds: Int?

        func run() async throws {
            let body = AuditLogBody(
                bucket: bucket, region: region, role_arn: roleArn, external_id: externalId, endpoint_url: endpointUrl,
                batch_interval_seconds: batchIntervalSeconds
            )
            try await AuditCommand.settings(.PUT, body: body, json: options.json)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver what is pending, then hold the export.")
        @OptionGroup var options: AdminOptions

        func run() async throws { try await AuditCommand.settings(.PATCH, body: AuditLogBody(paused: true), json: options.json) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume the export, including what was recorded while paused.")
        @OptionGroup var options: AdminOptions

        func run() async throws { try await AuditCommand.settings(.PATCH, body: AuditLogBody(paused: false), json: options.json) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver what is pending, then remove the export.")
        @OptionGroup var options: AdminOptions

        func run() async throws { try await AuditCommand.settings(.DELETE, json: options.json) }
    }
}

/// The body of `PUT` / `PATCH /admin/audit-log` (nil fields are left out).
struct AuditLogBody: Encodable {
    var bucket: String?
    var region: String?
    var role_arn: String?
    var external_id: String?
    var endpoint_url: String?
    var batch_interval_seconds: Int?
    var paused: Bool?
}
