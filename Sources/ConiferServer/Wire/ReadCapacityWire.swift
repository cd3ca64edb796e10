import ConiferCore

/// `ReadCapacity` as requests carry it (API 2025-10 and 2026-07).
struct ReadCapacityRequest: Codable {
    struct Dedicated: Codable {
        struct Manual: Codable {
            var replicas: Int?
            var shards: Int?
        }

        var node_type: String?
        var scaling: String?
        var manual: Manual?
    }

    var mode: String
    var dedicated: Dedicated?

    func domain() throws(ConiferError) -> ReadCapacity {
        guard let mode = ReadCapacity.Mode(rawValue: mode) else {
            throw .invalidArgument("Invalid read_capacity mode '\(mode.prefix(32))': expected OnDemand or Dedicated.")
        }
        switch mode {
        case .onDemand:
            return .onDemand
        case .dedicated:
            if let scaling = dedicated?.scaling, scaling != "Manual" {
                throw .invalidArgument("Invalid read_capacity scaling '\(scaling.prefix(32))': only Manual is supported.")
            }
            return ReadCapacity(
                mode: .dedicated,
                nodeType: dedicated?.node_type,
                replicas: dedicated?.manual?.replicas ?? 1,
                shards: dedicated?.manual?.shards ?? 1
            )
        }
    }
}

/// `ReadCapacity` as responses report it; Conifer's capacity is always in place, so its state is Ready.
struct ReadCapacityResponse: Encodable {
    struct Dedicated: Encodable {
        struct Manual: Encodable {
            var replicas: Int
            var shards: Int
        }

        var node_type: String
        var scaling = "Manual"
        var manual: Manual
    }

    struct Status: Encodable {
        var state = "Ready"
        var current_replicas: Int?
        var current_shards: Int?
    }

    var mode: String
    var dedicated: Dedicated?
    var status: Status

    init(_ capacity: ReadCapacity) {
        mode = capacity.mode.rawValue
        switch capacity.mode {
        case .onDemand:
            dedicated = nil
            status = Status()
        case .dedicated:
            let replicas = capacity.replicas ?? 1
            let shards = capacity.shards ?? 1
            dedicated = Dedicated(node_type: capacity.nodeType ?? "b1", manual: .init(replicas: replicas, shards: shards))
            status = Status(current_replicas: replicas, current_shards: shards)
        }
    }
}

/// Parses the enum-like strings of requests with errors that name the field and the allowed values.
enum WireEnum {
    static func parse<T: RawRepresentable & CaseIterable>(_ value: String?, field: String, as type: T.Type) throws(ConiferError) -> T?
    where T.RawValue == String {
        guard let value else { return nil }
        guard let parsed = T(rawValue: value) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidArgument("Invalid value '\(value.prefix(64))' for \(field): expected one of \(allowed).")
        }
        return parsed
    }
}
