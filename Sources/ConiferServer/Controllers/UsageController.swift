import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The usage report (`GET /admin/organizations/{organization_id}/usage`): Pinecone has no public route for it, so
/// it follows the Admin API's style. Usage and cost over `start`…`end` (RFC 3339 times or UTC dates; the last 30
/// days by default), grouped by `group_by` (`sku`, `project` or `service`), filtered by `sku`, `project_id` and
/// `service`; `format=csv` (or `Accept: text/csv`) answers a CSV download with a row per resource, SKU and day.
struct UsageController {
    let admin: any AdminCatalog
    let prices: PriceList
    /// The longest range one report covers.
    static let maxRange: TimeInterval = 366 * 86_400

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/organizations/:organization_id/usage", .organization(.billingRead), handler: report)
    }

    @Sendable func report(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let parameters = call.request.uri.queryParameters
        let query = try Self.query({ parameters[Substring($0)].map(String.init) }, now: Date())
        let usage = try await admin.usage(organization: id, from: query.start, to: query.end, for: call.pass)
        let report = UsageReport(
            lines: usage.lines, plan: usage.organization.plan, prices: prices, filter: query.filter, start: query.start, end: query.end
        )
        let wantsCSV = query.csv || (call.request.headers[.accept]?.lowercased().contains("text/csv") ?? false)
        guard !wantsCSV else {
            let day = ISO8601DateFormatter.fullDate
            let name = "conifer-usage-\(day.string(from: query.start))-\(day.string(from: query.end.addingTimeInterval(-1))).csv"
            let headers: HTTPFields = [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""]
            let text = report.csv(organizationID: id, organizationName: usage.organization.name)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        return try WireJSON.response(status: .ok, UsageReportWire(report, organization: id, grouping: query.grouping))
    }

    struct Query {
        var start: Date
        var end: Date
        var grouping: UsageReport.Grouping
        var filter: UsageReport.Filter
        var csv: Bool
    }

    /// The report's parameters, each checked (400 with what was expected).
    static func query(_ text: (String) -> String?, now: Date) throws(ConiferError) -> Query {
        func date(_ name: String) throws(ConiferError) -> Date? {
            guard let raw = text(name) else { return nil }
            if let date = try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(raw) { return date }
            if let day = ISO8601DateFormatter.fullDate.date(from: raw), raw.count == 10 { return day }
            throw .invalidArgument("\(name) must be an RFC 3339 time or a date, e.g. 2026-11-22T14:00:00Z or 2026-11-22.")
        }
        let hour = floor(now.timeIntervalSince1970 / 3600) * 3600
        let end = try date("end") ?? Date(timeIntervalSince1970: hour + 3600)
        let start = try date("start") ?? end.addingTimeInterval(-30 * 86_400)
        guard start < end else { throw .invalidArgument("start must be before end.") }
        guard end.timeIntervalSince(start) <= maxRange else { throw .invalidArgument("A report covers at most 366 days.") }
        let grouping = try text("group_by").map { (raw) throws(ConiferError) in
            guard let grouping = UsageReport.Grouping(rawValue: raw) else { throw .invalidArgument("group_by must be sku, project or service.") }
            return grouping
        } ?? .sku
        var filter = UsageReport.Filter()
        if let raw = text("sku") {
            guard let sku = UsageSKU(rawValue: raw) else {
                throw .invalidArgument("Unknown sku '\(raw.prefix(64))': expected one of \(UsageSKU.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.sku = sku
        }
        if let raw = text("project_id") {
            guard let project = UUID(uuidString: raw) else { throw .invalidArgument("project_id must be a project's id.") }
            filter.project = project
        }
        if let raw = text("service") {
            guard UsageSKU.services.contains(raw) else {
                throw .invalidArgument("Unknown service '\(raw.prefix(64))': expected one of \(UsageSKU.services.joined(separator: ", ")).")
            }
            filter.service = raw
        }
        let format = text("format") ?? "json"
        guard format == "json" || format == "csv" else { throw .invalidArgument("format must be json or csv.") }
        return Query(start: start, end: end, grouping: grouping, filter: filter, csv: format == "csv")
    }
}

/// A usage report as JSON: the range, the plan whose prices apply, the total and one row per group.
struct UsageReportWire: Encodable {
    struct Row: Encodable {
        var sku: String?
        var service: String?
        var unit: String?
        var quantity: Double?
        var project_id: String?
        var project_name: String?
        var cost: Double
    }

    var organization_id: String
    var start: Date
    var end: Date
    var group_by: String
    var plan: String
    var currency = "USD"
    var total_cost: Double
    var data: [Row]

    init(_ report: UsageReport, organization: UUID, grouping: UsageReport.Grouping) {
        organization_id = organization.lowercasedString
        start = report.start
        end = report.end
        group_by = grouping.rawValue
        plan = report.plan.wireName
        total_cost = report.totalCost
        data = report.groups(by: grouping).map { group in
            switch grouping {
            case .sku: Row(sku: group.key, service: group.sku?.service, unit: group.sku?.unit, quantity: group.quantity, cost: group.cost)
            case .project: Row(project_id: group.key, project_name: group.name, cost: group.cost)
            case .service: Row(service: group.key, cost: group.cost)
            }
        }
    }
}
