import ArgumentParser
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
            let organizations = try await session.client().send(.GET, "/admin/organizations")
            guard let organization = ((organizations.body as? [String: Any])?["data"] as? [[String: Any]])?.first?["id"] as? String else {
                throw ClientError("The server shows no organization to this login.")
            }
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
