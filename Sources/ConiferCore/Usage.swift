import Foundation

/// A billable thing the usage ledger meters, with the unit its quantities are kept in and the service it belongs
/// to (what a usage report groups "by service").
public enum UsageSKU: String, Codable, Sendable, CaseIterable {
    case readUnits = "serverless_read_units"
    case writeUnits = "serverless_write_units"
    /// An index's stored size, sampled: GB-hours.
    case storage = "serverless_storage"
    /// A backup's size, sampled: GB-hours.
    case backupStorage = "backup_storage"
    /// Data restored from a backup into a new index: GB.
    case restore = "backup_restore"
    /// A collection's size, sampled: GB-hours.
    case collectionStorage = "collection_storage"

    public var service: String {
        switch self {
        case .readUnits, .writeUnits, .storage: "serverless"
        case .backupStorage, .restore: "backups"
        case .collectionStorage: "collections"
        }
    }

    /// The unit the ledger counts in.
    public var unit: String {
        switch self {
        case .readUnits: "read units"
        case .writeUnits: "write units"
        case .storage, .backupStorage, .collectionStorage: "GB-hours"
        case .restore: "GB"
        }
    }

    /// The unit list prices are quoted in, and how many ledger units make one of it.
    public var priceUnit: (name: String, ledgerUnits: Double) {
        switch self {
        case .readUnits: ("1M read units", 1_000_000)
        case .writeUnits: ("1M write units", 1_000_000)
        case .storage, .backupStorage, .collectionStorage: ("GB-month", PriceList.hoursPerMonth)
        case .restore: ("GB", 1)
        }
    }

    public static let services = Array(Set(allCases.map(\.service))).sorted()
}

/// One row of the usage ledger: how much of one SKU one resource (an index, a backup, a collection) used in one
/// hour (UTC).
public struct UsageEntry: Sendable, Equatable {
    public var organizationID: UUID
    public var projectID: UUID
    public var resourceID: UUID
    /// The resource's name when it was used (the ledger outlives the resource).
    public var resourceName: String
    /// Where it ran: the serverless region, or the pod or BYOC environment.
    public var region: String
    public var sku: UsageSKU
    /// The start of the hour.
    public var hour: Date
    public var quantity: Double

    public init(
        organizationID: UUID, projectID: UUID, resourceID: UUID, resourceName: String, region: String, sku: UsageSKU, hour: Date, quantity: Double
    ) {
        self.organizationID = organizationID
        self.projectID = projectID
        self.resourceID = resourceID
        self.resourceName = resourceName
        self.region = region
        self.sku = sku
        self.hour = hour
        self.quantity = quantity
    }
}

extension Deployment {
    /// The region a usage report shows: the serverless region, or the pod or BYOC environment.
    public var region: String {
        switch self {
        case .serverless(_, let region): region
        case .pod(let environment, _, _, _, _), .byoc(let environment): environment
        }
    }
}

/// What each SKU costs, per plan and optionally per region, in US dollars per the SKU's price unit
/// (`UsageSKU.priceUnit`). Costs are computed when a report is made, from the list in force then: a changed
/// price re-prices past usage too.
public struct PriceList: Sendable, Equatable {
    public struct Price: Codable, Sendable, Equatable {
        public var sku: UsageSKU
        public var plan: Plan
        /// nil: every region without a price of its own.
        public var region: String?
        public var usd: Double

        public init(sku: UsageSKU, plan: Plan, region: String? = nil, usd: Double) {
            self.sku = sku
            self.plan = plan
            self.region = region
            self.usd = usd
        }
    }

    /// Hours in a billing month, for prices per GB-month (365 × 24 / 12).
    public static let hoursPerMonth = 730.0

    public private(set) var prices: [Price]

    public init(prices: [Price]) {
        self.prices = prices
    }

    /// Pinecone's list prices as published at https://www.pinecone.io/pricing/ (read off on 2026-10-07 and
    /// 2026-11-04, AWS us-east-1, the lower end of each range): Standard $16 per million read units, $4 per million
    /// write units, $0.33 per GB-month of storage; Enterprise $24, $6 and $0.33. Backup storage ($0.10 per GB-month),
    /// restores ($0.15 per GB) and collection storage ($0.10 per GB-month) are Conifer's own defaults: the page as
    /// read did not list them. Usage on Starter costs nothing.
    public static let pinecone: PriceList = {
        let elsewhere: [UsageSKU: Double] = [.storage: 0.33, .backupStorage: 0.10, .restore: 0.15, .collectionStorage: 0.10]
        let standard = elsewhere.merging([.readUnits: 16, .writeUnits: 4]) { $1 }
        let enterprise = elsewhere.merging([.readUnits: 24, .writeUnits: 6]) { $1 }
        let prices = standard.map { Price(sku: $0.key, plan: .standard, usd: $0.value) } + enterprise.map { Price(sku: $0.key, plan: .enterprise, usd: $0.value) }
        return PriceList(prices: prices.sorted { ($0.plan.rawValue, $0.sku.rawValue) < ($1.plan.rawValue, $1.sku.rawValue) })
    }()

    /// The list with an operator's file laid over it: `{"prices": [{"sku", "plan", "region"?, "usd"}]}`. A price
    /// replaces the one for the same SKU, plan and region; the rest stay.
    public func overridden(byJSON data: Data) throws(ConiferError) -> PriceList {
        struct File: Decodable { var prices: [Price] }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw .invalidArgument("The price list is not valid: \(error)")
        }
        var list = self
        for price in file.prices {
            guard price.usd.isFinite, price.usd >= 0 else { throw .invalidArgument("The price of \(price.sku.rawValue) must be a non-negative number.") }
            list.prices.removeAll { $0.sku == price.sku && $0.plan == price.plan && $0.region == price.region }
            list.prices.append(price)
        }
        return list
    }

    /// The price of one ledger unit of `sku` on `plan` in `region` (0 when the list has none).
    public func unitPrice(_ sku: UsageSKU, plan: Plan, region: String) -> Double {
        let matching = prices.filter { $0.sku == sku && $0.plan == plan }
        let price = matching.first { $0.region == region } ?? matching.first { $0.region == nil }
        return (price?.usd ?? 0) / sku.priceUnit.ledgerUnits
    }
}

extension UUID {
    /// The form ids take on the wire and in the catalog.
    public var lowercasedString: String { uuidString.lowercased() }
}
