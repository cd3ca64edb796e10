import ArgumentParser
import ConiferServer
import Foundation

/// `conifer usage`: the organization's usage report from the Admin API, as a table, JSON or CSV.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show the organization's usage and cost (owners and billing admins; Standard and Enterprise plans).",
        discussion: "Costs are the units used times the server's price list (Pinecone's list prices unless the operator set others)."
    )

    @OptionGroup var options: AdminOptions
    @Option(help: "Start: an RFC 3339 time or a date (UTC); default 30 days before --to.") var from: String?
    @Option(help: "End (exclusive): an RFC 3339 time or a date (UTC); default the end of the current hour.") var to: String?
    @Option(help: "Group by sku, project or service.") var by: String = "sku"
    @Option(help: "Only this SKU (serverless_read_units, serverless_write_units, serverless_storage, backup_storage, backup_restore, collection_storage).")
    var sku: String?
    @Option(help: "Only this project (id or name).") var project: String?
    @Option(help: "Only this service (serverless, backups, collections).") var service: String?
    @Flag(help: "Print the CSV download (a row per resource, SKU and day) instead of a table.") var csv = false

    func run() async throws {
        try await runReportingErrors {
            var session = try CLISession.load()
            let organization = try await currentOrganization(&session)
            var query = [URLQueryItem(name: "group_by", value: by)]
            if let from { query.append(URLQueryItem(name: "start", value: from)) }
            if let to { query.append(URLQueryItem(name: "end", value: to)) }
            if let sku { query.append(URLQueryItem(name: "sku", value: sku)) }
            if let project { query.append(URLQueryItem(name: "project_id", value: try await resolveProject(project, session: &session))) }
            if let service { query.append(URLQueryItem(name: "service", value: service)) }
            if csv { query.append(URLQueryItem(name: "format", value: "csv")) }
            var components = URLComponents()
            components.queryItems = query
            let reply = try await session.client().send(.GET, "/admin/organizations/\(organization)/usage?\(components.percentEncodedQuery ?? "")")
            if csv {
                FileHandle.standardOutput.write(reply.raw)
                return
            }
            let columns = by == "project" ? ["project_id", "project_name", "cost"] : by == "service" ? ["service", "cost"] : ["sku", "service", "quantity", "unit", "cost"]
            show(reply, json: options.json, columns: columns, list: true)
            if !options.json, let object = reply.body as? [String: Any] {
                print("Total \(describe(object["total_cost"])) \(describe(object["currency"])) from \(describe(object["start"])) to \(describe(object["end"])) (\(describe(object["plan"])) prices).")
            }
        }
    }
}

/// `conifer mail status`: what became of the organization's messages (owners).
struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mail", abstract: "The organization's mail.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each message's status, attempts and last error (organization owners).")
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let organization = try await currentOrganization(&session)
                let reply = try await session.client().send(.GET, "/admin/organizations/\(organization)/mail")
                show(reply, json: options.json, columns: ["id", "kind", "recipients", "status", "attempts", "next_attempt_at", "last_error"], list: true)
            }
        }
    }
}

/// The id of the organization the login acts in (a login belongs to one).
func currentOrganization(_ session: inout CLISession) async throws -> String {
    let organizations = try await session.client().send(.GET, "/admin/organizations")
    guard let organization = ((organizations.body as? [String: Any])?["data"] as? [[String: Any]])?.first?["id"] as? String else {
        throw ClientError("The server shows no organization to this login.")
    }
    return organization
}

/// `conifer spend-alert`: the organization's monthly spend alerts and its spike alert (owners and billing admins).
struct SpendAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend-alert", abstract: "Manage monthly spend alerts and the spike alert (owners and billing admins; Standard and Enterprise plans).",
        subcommands: [Create.self, List.self, Update.self, Delete.self]
    )
    static let columns = ["id", "type", "threshold", "recipients", "enabled", "last_fired_cycle"]

    static func path(_ session: inout CLISession, _ id: String? = nil) async throws -> String {
        let base = "/admin/organizations/\(try await currentOrganization(&session))/spend-alerts"
        return id.map { "\(base)/\($0)" } ?? base
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alert when this month's cost reaches an amount.")
        @OptionGroup var options: AdminOptions
        @Option(help: "The threshold in US dollars.") var amount: Double
        @Option(name: .customLong("email"), help: "A recipient (repeat for more); default the organization's owners.") var emails: [String] = []
        @Flag(help: "Create it turned off.") var disabled = false
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let body = SpendAlertRequestWire(amount_usd: amount, recipients: emails.isEmpty ? nil : emails, enabled: !disabled)
                show(try await session.client().send(.POST, try await SpendAlertCommand.path(&session), body: body), json: options.json, columns: SpendAlertCommand.columns, list: false)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the alerts, the spike alert first.")
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                show(try await session.client().send(.GET, try await SpendAlertCommand.path(&session)), json: options.json, columns: SpendAlertCommand.columns, list: true)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an alert's amount, recipients or state (the spike alert: `spike`, no amount).")
        @OptionGroup var options: AdminOptions
        @Argument(help: "The alert's id, or spike.") var id: String
        @Option(help: "The new threshold in US dollars.") var amount: Double?
        @Option(name: .customLong("email"), help: "The new recipients (repeat for more).") var emails: [String] = []
        enum Switch: String, EnumerableFlag {
            case enable, disable
            static func help(for value: Switch) -> ArgumentHelp? { value == .enable ? "Turn it on." : "Turn it off." }
        }
        @Flag var state: Switch?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let body = SpendAlertRequestWire(amount_usd: amount, recipients: emails.isEmpty ? nil : emails, enabled: state.map { $0 == .enable })
                show(try await session.client().send(.PATCH, try await SpendAlertCommand.path(&session, id), body: body), json: options.json, columns: SpendAlertCommand.columns, list: false)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a spend alert (the spike alert cannot be deleted).")
        @OptionGroup var options: AdminOptions
        @Argument(help: "The alert's id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.DELETE, try await SpendAlertCommand.path(&session, id))
                if !options.json { print("Spend alert \(id) deleted.") }
            }
        }
    }
}
