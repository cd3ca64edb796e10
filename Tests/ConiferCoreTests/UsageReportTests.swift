import ConiferCore
import Foundation
import SwiftCSV
import Testing

/// Prices, grouping and the CSV of usage reports, on ledger lines made by hand.
@Suite struct UsageReportTests {
    static let organization = UUID()
    static let (books, films) = (UUID(), UUID())
    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    static func line(_ sku: UsageSKU, _ quantity: Double, _ hour: String, project: UUID = books, resource: UUID, name: String, region: String = "us-east-1") -> UsageLine {
        UsageLine(
            entry: UsageEntry(
                organizationID: organization, projectID: project, resourceID: resource, resourceName: name, region: region, sku: sku, hour: at(hour),
                quantity: quantity
            ),
            projectName: project == books ? "books" : "films", projectTags: project == books ? ["team": "search, \"core\""] : [:],
            resourceTags: ["env": "=cmd|' /C calc'!A0"]
        )
    }

    /// Pinecone's list: Standard $16 per million read units, $4 per million write units, $0.33 per GB-month; an
    /// operator's file replaces one price (here a region's) and keeps the rest; bad files change nothing.
    @Test func pricesComeFromTheListAndTheOperatorsFile() throws {
        let list = PriceList.pinecone
        #expect(list.unitPrice(.readUnits, plan: .standard, region: "us-east-1") == 16.0 / 1_000_000)
        #expect(list.unitPrice(.writeUnits, plan: .enterprise, region: "eu-west-1") == 6.0 / 1_000_000)
        #expect(abs(list.unitPrice(.storage, plan: .standard, region: "us-east-1") * 730 - 0.33) < 1e-12)
        #expect(list.unitPrice(.readUnits, plan: .starter, region: "us-east-1") == 0)
        let file = #"{"prices":[{"sku":"serverless_read_units","plan":"Standard","region":"eu-west-1","usd":18}]}"#
        let changed = try list.overridden(byJSON: Data(file.utf8))
        #expect(changed.unitPrice(.readUnits, plan: .standard, region: "eu-west-1") == 18.0 / 1_000_000)
        #expect(changed.unitPrice(.readUnits, plan: .standard, region: "us-east-1") == 16.0 / 1_000_000)
        for bad in [#"{"prices":[{"sku":"nonsense","plan":"Standard","usd":1}]}"#, #"{"prices":[{"sku":"backup_restore","plan":"Standard","usd":-1}]}"#, "[]"] {
            #expect(throws: ConiferError.self) { try list.overridden(byJSON: Data(bad.utf8)) }
        }
    }

    /// Grouped by SKU, project and service, every grouping sums to the same total; filters and the range keep
    /// only what they name; the CSV has a row per resource, SKU and day, parses back (tags with commas and quotes
    /// included) and its costs add up to the total; a cell a spreadsheet would run as a formula is defused.
    @Test func groupsFiltersAndCSVAgree() throws {
        let (shelf, reel) = (UUID(), UUID())
        let lines = [
            Self.line(.readUnits, 250_000, "2026-11-02T08:00:00Z", resource: shelf, name: "shelf"),
            Self.line(.readUnits, 250_000, "2026-11-02T09:00:00Z", resource: shelf, name: "shelf"),
            Self.line(.writeUnits, 1_000_000, "2026-11-02T09:00:00Z", resource: shelf, name: "shelf"),
            Self.line(.storage, 730, "2026-11-03T00:00:00Z", project: Self.films, resource: reel, name: "reel", region: "eu-west-1"),
            Self.line(.readUnits, 1_000_000, "2026-12-01T00:00:00Z", resource: shelf, name: "shelf"),  // after the range
        ]
        let report = UsageReport(lines: lines, plan: .standard, prices: .pinecone, start: Self.at("2026-11-01T00:00:00Z"), end: Self.at("2026-12-01T00:00:00Z"))
        // 500k RU × $16/M = $8, 1M WU × $4/M = $4, 730 GB-hours = 1 GB-month × $0.33.
        #expect(abs(report.totalCost - 12.33) < 1e-9)
        let bySKU = report.groups(by: .sku)
        #expect(bySKU.map(\.key) == ["serverless_read_units", "serverless_storage", "serverless_write_units"])
        #expect(bySKU.map(\.quantity) == [500_000, 730, 1_000_000])
        for grouping in UsageReport.Grouping.allCases {
            #expect(abs(report.groups(by: grouping).reduce(0) { $0 + $1.cost } - report.totalCost) < 1e-9, "\(grouping)")
        }
        let byID = [(Self.books, "books"), (Self.films, "films")].sorted { $0.0.lowercasedString < $1.0.lowercasedString }
        #expect(report.groups(by: .project).map(\.name) == byID.map(\.1))
        #expect(report.groups(by: .service).map(\.key) == ["serverless"])
        let films = UsageReport(
            lines: lines, plan: .standard, prices: .pinecone, filter: .init(project: Self.films), start: Self.at("2026-11-01T00:00:00Z"), end: Self.at("2026-12-01T00:00:00Z")
        )
        #expect(films.lines.count == 1 && abs(films.totalCost - 0.33) < 1e-9)
        #expect(UsageReport(lines: lines, plan: .standard, prices: .pinecone, filter: .init(sku: .restore), start: .distantPast, end: .distantFuture).lines.isEmpty)

        let text = report.csv(organizationID: Self.organization, organizationName: "acme, inc")
        let csv = try CSV<Named>(string: text, delimiter: .comma)
        #expect(csv.header == UsageReport.csvColumns)
        // The two read-unit hours of one day are one row.
        #expect(csv.rows.map { $0["date"]! } == ["2026-11-02", "2026-11-02", "2026-11-03"])
        #expect(csv.rows.map { $0["sku"]! } == ["serverless_read_units", "serverless_write_units", "serverless_storage"])
        #expect(csv.rows.map { $0["quantity"]! } == ["500000", "1000000", "730"])
        #expect(csv.rows.map { $0["unit"]! } == ["read units", "write units", "GB-hours"])
        #expect(csv.rows[0]["unit_price_usd"] == "0.000016" && csv.rows[0]["cost_usd"] == "8")
        #expect(csv.rows[2]["region"] == "eu-west-1" && csv.rows[2]["project_name"] == "films" && csv.rows[2]["project_tags"] == "")
        #expect(csv.rows[0]["organization_name"] == "acme, inc")
        #expect(csv.rows[0]["project_tags"] == #"{"team":"search, \"core\""}"#)
        #expect(csv.rows[0]["resource_tags"] == #"{"env":"=cmd|' /C calc'!A0"}"#, "a JSON object starts with {: nothing to defuse")
        #expect(abs(csv.rows.reduce(0) { $0 + Double($1["cost_usd"]!)! } - report.totalCost) < 1e-6)
        let formula = UsageReport(
            lines: [UsageLine(entry: lines[0].entry, projectName: "=HYPERLINK(\"x\")")], plan: .standard, prices: .pinecone, start: .distantPast, end: .distantFuture
        )
        let defused = try CSV<Named>(string: formula.csv(organizationID: Self.organization, organizationName: "-1+1"), delimiter: .comma)
        #expect(defused.rows[0]["project_name"] == "'=HYPERLINK(\"x\")" && defused.rows[0]["organization_name"] == "'-1+1")
    }
}
