/// A parsed metadata filter (Pinecone's filter language, pinecone-api.md §3.3).
public indirect enum MetadataFilter: Sendable, Equatable {
    case all([MetadataFilter])
    case any([MetadataFilter])
    case field(String, Condition)

    /// A comparable operand of `$eq`, `$ne`, `$in` and `$nin`.
    public enum Operand: Sendable, Equatable, Hashable {
        case string(String)
        case number(Double)
        case bool(Bool)
    }

    public enum Condition: Sendable, Equatable {
        case equal(Operand)
        case notEqual(Operand)
        case greaterThan(Double)
        case greaterThanOrEqual(Double)
        case lessThan(Double)
        case lessThanOrEqual(Double)
        case inSet(Set<Operand>)
        case notInSet(Set<Operand>)
        case exists(Bool)
    }

    /// The filter that matches every record (`{}`).
    public static let everything = MetadataFilter.all([])

    public var isEmpty: Bool { self == .everything }

    /// Parses a filter object. Errors name the offending operator or field.
    ///
    /// A filter is bounded before it is evaluated (SECURITY.md rule 10): at most `DataLimits.maxFilterClauses`
    /// clauses (each operator on a field, and each member of an `$and`/`$or`), `DataLimits.maxFilterValues`
    /// operand values in all, nested at most `DataLimits.maxFilterDepth` levels, so evaluating it costs a
    /// bounded amount per record.
    public static func parse(_ json: JSONValue) throws(ConiferError) -> MetadataFilter {
        var budget = Budget()
        return try parse(json, depth: 0, budget: &budget)
    }

    /// What a filter has used of its limits so far while it is parsed.
    private struct Budget {
        var clauses = 0
        var values = 0

        mutating func spend(clauses: Int = 0, values: Int = 0) throws(ConiferError) {
            self.clauses += clauses
            self.values += values
            guard self.clauses <= DataLimits.maxFilterClauses else {
                throw .invalidArgument("Invalid filter: more than \(DataLimits.maxFilterClauses) clauses (conditions and $and/$or members).")
            }
            guard self.values <= DataLimits.maxFilterValues else {
                throw .invalidArgument("Invalid filter: more than \(DataLimits.maxFilterValues) values in $in/$nin lists in all.")
            }
        }
    }

    private static func parse(_ json: JSONValue, depth: Int, budget: inout Budget) throws(ConiferError) -> MetadataFilter {
        guard depth < DataLimits.maxFilterDepth else {
            throw .invalidArgument("Invalid filter: nesting is deeper than \(DataLimits.maxFilterDepth) levels.")
        }
        guard case .object(let object) = json else {
            throw .invalidArgument("Invalid filter: expected an object, got a \(json.typeName).")
        }
        var clauses: [MetadataFilter] = []
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "$and", "$or":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw .invalidArgument("Invalid filter: \(key) takes a non-empty array of filters.")
                }
                try budget.spend(clauses: items.count)
                var parts: [MetadataFilter] = []
                for item in items { parts.append(try parse(item, depth: depth + 1, budget: &budget)) }
                clauses.append(key == "$and" ? .all(parts) : .any(parts))
            case let op where op.hasPrefix("$"):
                throw .invalidArgument("Invalid filter: operator \(op.prefix(32)) is not allowed at the top level; use {\"field\": {\"\(op.prefix(32))\": …}}.")
            default:
                clauses.append(contentsOf: try parseField(key, value, budget: &budget))
            }
        }
        return clauses.count == 1 ? clauses[0] : .all(clauses)
    }

    private static func parseField(_ field: String, _ value: JSONValue, budget: inout Budget) throws(ConiferError) -> [MetadataFilter] {
        try budget.spend(clauses: 1)
        guard case .object(let operators) = value else {
            // `{"genre": "drama"}` is shorthand for `$eq`.
            return [.field(field, .equal(try operand(value, op: "$eq", field: field)))]
        }
        guard !operators.isEmpty else { throw .invalidArgument("Invalid filter: no operator given for field '\(field.prefix(64))'.") }
        try budget.spend(clauses: operators.count - 1)
        var conditions: [MetadataFilter] = []
        for (op, argument) in operators.sorted(by: { $0.key < $1.key }) {
            let condition: Condition
            switch op {
            case "$eq": condition = .equal(try operand(argument, op: op, field: field))
            case "$ne": condition = .notEqual(try operand(argument, op: op, field: field))
            case "$gt": condition = .greaterThan(try number(argument, op: op, field: field))
            case "$gte": condition = .greaterThanOrEqual(try number(argument, op: op, field: field))
            case "$lt": condition = .lessThan(try number(argument, op: op, field: field))
            case "$lte": condition = .lessThanOrEqual(try number(argument, op: op, field: field))
            case "$in": condition = .inSet(try operands(argument, op: op, field: field, budget: &budget))
            case "$nin": condition = .notInSet(try operands(argument, op: op, field: field, budget: &budget))
            case "$exists":
                guard case .bool(let flag) = argument else {
                    throw .invalidArgument("Invalid filter: $exists for field '\(field.prefix(64))' takes a boolean.")
                }
                condition = .exists(flag)
            default:
                throw .invalidArgument("Invalid filter: unknown operator \(op.prefix(32)) for field '\(field.prefix(64))'.")
            }
            conditions.append(.field(field, condition))
        }
        return conditions
    }

    private static func operand(_ value: JSONValue, op: String, field: String) throws(ConiferError) -> Operand {
        switch value {
        case .string(let text): return .string(text)
        case .number(let number): return .number(number)
        case .bool(let flag): return .bool(flag)
        default:
            throw .invalidArgument("Invalid filter: \(op) for field '\(field.prefix(64))' takes a string, number or boolean, got a \(value.typeName).")
        }
    }

    private static func number(_ value: JSONValue, op: String, field: String) throws(ConiferError) -> Double {
        guard case .number(let number) = value else {
            throw .invalidArgument("Invalid filter: \(op) for field '\(field.prefix(64))' takes a number, got a \(value.typeName).")
        }
        return number
    }

    private static func operands(_ value: JSONValue, op: String, field: String, budget: inout Budget) throws(ConiferError) -> Set<Operand> {
        guard case .array(let items) = value else {
            throw .invalidArgument("Invalid filter: \(op) for field '\(field.prefix(64))' takes an array, got a \(value.typeName).")
        }
        try budget.spend(values: items.count)
        var result: Set<Operand> = []
        for item in items {
            switch item {
            case .string(let text): result.insert(.string(text))
            case .number(let number): result.insert(.number(number))
            default:
                throw .invalidArgument("Invalid filter: \(op) for field '\(field.prefix(64))' takes strings or numbers, got a \(item.typeName).")
            }
        }
        return result
    }
}

extension MetadataFilter {
    /// Whether `metadata` satisfies the filter.
    ///
    /// Semantics follow Pinecone's documentation: a list field matches `$eq`/`$in` when any element does, and
    /// `$ne`/`$nin` only when no element does. A record without the field matches `$ne`, `$nin` and
    /// `$exists: false` and nothing else. Comparisons between different types never match (so `$ne` does).
    public func matches(_ metadata: Metadata) -> Bool {
        switch self {
        case .all(let parts): return parts.allSatisfy { $0.matches(metadata) }
        case .any(let parts): return parts.contains { $0.matches(metadata) }
        case .field(let name, let condition): return condition.matches(metadata[name])
        }
    }
}

extension MetadataFilter.Condition {
    func matches(_ value: MetadataValue?) -> Bool {
        switch self {
        case .exists(let wanted): return (value != nil) == wanted
        case .equal(let operand): return value.map { Self.contains($0, operand) } ?? false
        case .notEqual(let operand): return value.map { !Self.contains($0, operand) } ?? true
        case .inSet(let operands): return value.map { Self.intersects($0, operands) } ?? false
        case .notInSet(let operands): return value.map { !Self.intersects($0, operands) } ?? true
        case .greaterThan(let bound): return Self.number(value).map { $0 > bound } ?? false
        case .greaterThanOrEqual(let bound): return Self.number(value).map { $0 >= bound } ?? false
        case .lessThan(let bound): return Self.number(value).map { $0 < bound } ?? false
        case .lessThanOrEqual(let bound): return Self.number(value).map { $0 <= bound } ?? false
        }
    }

    /// Whether a stored value equals an operand, or (for a list) has an element equal to it.
    static func contains(_ value: MetadataValue, _ operand: MetadataFilter.Operand) -> Bool {
        switch (value, operand) {
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.strings(let list), .string(let b)): list.contains(b)
        default: false
        }
    }

    /// Whether a stored value (or, for a list, one of its elements) is in a set of operands: hashed
    /// look-ups, so the cost per record does not grow with the size of the set.
    static func intersects(_ value: MetadataValue, _ operands: Set<MetadataFilter.Operand>) -> Bool {
        switch value {
        case .string(let text): operands.contains(.string(text))
        case .number(let number): operands.contains(.number(number))
        case .bool(let flag): operands.contains(.bool(flag))
        case .strings(let list): list.contains { operands.contains(.string($0)) }
        }
    }

    static func number(_ value: MetadataValue?) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }
}
