import Foundation

/// A ledger row with what a report shows beside it: its project's name and tags and its resource's tags (as
/// they are now; a deleted resource has none).
public struct UsageLine: Sendable, Equatable {
    public var entry: UsageEntry
    public var projectName: String
    public var projectTags: [String: String]
    public var resourceTags: [String: String]

    public init(entry: UsageEntry, projectName: String, projectTags: [String: String] = [:], resourceTags: [String: String] = [:]) {
        self.entry = entry
        self.projectName = projectName
        self.projectTags = projectTags
        self.resourceTags = resourceTags
    }
}

/// An organization's usage and its cost over a time range: grouped by SKU, project or service, or as CSV with a
/// row per resource, SKU and day (UTC). Costs are quantities times the price list's unit prices for the
/// organization's plan and each row's region.
public struct UsageReport: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        case sku, project, service
    }

    public struct Filter: Sendable {
        public var sku: UsageSKU?
        public var project: UUID?
        public var service: String?

        public init(sku: UsageSKU? = nil, project: UUID? = nil, service: String? = nil) {
            self.sku = sku
            self.project = project
            self.service = service
        }

        func admits(_ entry: UsageEntry) -> Bool {
            (sku == nil || entry.sku == sku) && (project == nil || entry.projectID == project) && (service == nil || entry.sku.service == service)
        }
    }

    /// One group: a SKU (with its quantity and unit), a project or a service, and its cost.
    public struct Group: Sendable, Equatable {
        public var key: String
        /// The project's name (by project).
        public var name: String?
        /// By SKU: what the quantity counts, and the service.
        public var sku: UsageSKU?
        public var quantity: Double?
        public var cost: Double
    }

    /// A line with its price.
    public struct PricedLine: Sendable, Equatable {
        public var line: UsageLine
        public var unitPrice: Double
        public var cost: Double { line.entry.quantity * unitPrice }
    }

    public let start: Date
    public let end: Date
    public let plan: Plan
    public let lines: [PricedLine]

    public init(lines: [UsageLine], plan: Plan, prices: PriceList, filter: Filter = Filter(), start: Date, end: Date) {
        self.start = start
        self.end = end
        self.plan = plan
        self.lines = lines.filter { filter.admits($0.entry) && $0.entry.hour >= start && $0.entry.hour < end }.map {
            PricedLine(line: $0, unitPrice: prices.unitPrice($0.entry.sku, plan: plan, region: $0.entry.region))
        }
    }

    public var totalCost: Double { lines.reduce(0) { $0 + $1.cost } }

    public func groups(by grouping: Grouping) -> [Group] {
        var groups: [String: Group] = [:]
        for priced in lines {
            let entry = priced.line.entry
            switch grouping {
            case .sku:
                groups[entry.sku.rawValue, default: Group(key: entry.sku.rawValue, sku: entry.sku, quantity: 0, cost: 0)].quantity! += entry.quantity
                groups[entry.sku.rawValue]!.cost += priced.cost
            case .project:
                let key = entry.projectID.lowercasedString
                groups[key, default: Group(key: key, name: priced.line.projectName, cost: 0)].cost += priced.cost
            case .service:
                groups[entry.sku.service, default: Group(key: entry.sku.service, cost: 0)].cost += priced.cost
            }
        }
        return groups.values.sorted { $0.key < $1.key }
    }

    /// The CSV columns, in order.
    public static let csvColumns = [
        "date", "organization_id", "organization_name", "project_id", "project_name", "project_tags", "resource_id", "resource_name",
        "resource_tags", "region", "service", "sku", "quantity", "unit", "unit_price_usd", "cost_usd",
    ]

    /// A row per resource, SKU and day (UTC), oldest first; tags as JSON objects (keys sorted; empty when none).
    public func csv(organizationID: UUID, organizationName: String) -> String {
        struct Key: Hashable {
            var day: Int64
            var resource: UUID
            var sku: UsageSKU
            var region: String
        }
        var days: [Key: (first: PricedLine, quantity: Double, cost: Double)] = [:]
        for priced in lines {
            let entry = priced.line.entry
            let seconds = Int64(entry.hour.timeIntervalSince1970)
            let key = Key(day: seconds - ((seconds % 86_400) + 86_400) % 86_400, resource: entry.resourceID, sku: entry.sku, region: entry.region)
            days[key, default: (priced, 0, 0)].quantity += entry.quantity
            days[key]!.cost += priced.cost
        }
        func order(_ row: (key: Key, value: (first: PricedLine, quantity: Double, cost: Double))) -> (Int64, String, String, String, String) {
            (row.key.day, row.value.first.line.projectName, row.value.first.line.entry.resourceName, row.key.sku.rawValue, row.key.resource.lowercasedString)
        }
        let rows = days.sorted { order($0) < order($1) }
        var text = CSV.line(Self.csvColumns)
        for (key, day) in rows {
            let line = day.first.line
            text += CSV.line([
                String(ISO8601DateFormatter.fullDate.string(from: Date(timeIntervalSince1970: TimeInterval(key.day)))), organizationID.lowercasedString,
                organizationName, line.entry.projectID.lowercasedString, line.projectName, CSV.tags(line.projectTags), key.resource.lowercasedString,
                line.entry.resourceName, CSV.tags(line.resourceTags), key.region, key.sku.service, key.sku.rawValue, CSV.decimal(day.quantity, places: 6),
                key.sku.unit, CSV.decimal(day.first.unitPrice, places: 12), CSV.decimal(day.cost, places: 6),
            ])
        }
        return text
    }
}

/// Writing RFC 4180 CSV: fields with a comma, quote or line break are quoted (quotes doubled); a field a
/// spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'`, as
/// OWASP advises for values others can choose (names, tags).
enum CSV {
    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    static func field(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func tags(_ tags: [String: String]) -> String {
        guard !tags.isEmpty else { return "" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(tags), as: UTF8.self)) ?? ""
    }

    /// A number in plain decimal notation with at most `places` decimals, trailing zeros dropped.
    static func decimal(_ value: Double, places: Int) -> String {
        var text = String(format: "%.\(places)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}

extension ISO8601DateFormatter {
    /// `2026-12-06` (UTC).
    public static var fullDate: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter
    }
}
