import ConiferCore
import Synchronization

/// A namespace's metadata index: for each field, the slots holding each value (a list holds each of its
/// elements), the slots holding the field at all, and its numbers sorted for ranges. It turns a filter into
/// the set of the slots that match it, with the count the planner decides by, without reading any
/// record's metadata.
///
/// Slots are added in order, so every posting list is ascending. Removed slots stay in the lists (the
/// search checks liveness, as it does for the graph) until compaction rebuilds the namespace. The writer
/// updates the lists under a lock held for one batch; a reader holds it only to copy the lists its filter
/// names (`Postings`), then builds the set on its own.
final class MetadataIndex: @unchecked Sendable {
    private struct Field {
        var values: [MetadataFilter.Operand: Postings<UInt32>] = [:]
        /// Slots that have the field.
        var present = Postings<UInt32>()
        var numbers = NumberColumn()

        mutating func add(_ value: MetadataValue, slot: UInt32) {
            present.append(slot)
            switch value {
            case .string(let text): values[.string(text), default: Postings()].append(slot)
            case .bool(let flag): values[.bool(flag), default: Postings()].append(slot)
            case .number(let number):
                values[.number(number), default: Postings()].append(slot)
                numbers.tail.append(NumberEntry(value: number, slot: slot))
            case .strings(let list):
                for text in Set(list) { values[.string(text), default: Postings()].append(slot) }
            }
        }
    }

    private let fields = Mutex<[String: Field]>([:])

    /// Indexes the metadata of slots `firstSlot…` (the writer, after appending them).
    func add(_ metadata: [Metadata], firstSlot: Int) {
        guard metadata.contains(where: { !$0.isEmpty }) else { return }
        var grown: [String] = []
        fields.withLock { fields in
            for (offset, record) in metadata.enumerated() where !record.isEmpty {
                let slot = UInt32(firstSlot + offset)
                for (name, value) in record {
                    fields[name, default: Field()].add(value, slot: slot)
                    if fields[name]?.numbers.needsSorting == true { grown.append(name) }
                }
            }
        }
        for name in Set(grown) { sortNumbers(of: name) }
    }

    /// Sorts a field's unsorted numbers into its runs, outside the lock (only the writer changes the column,
    /// so nothing changes it between the two critical sections).
    private func sortNumbers(of name: String) {
        guard let column = fields.withLock({ $0[name]?.numbers }) else { return }
        let runs = column.sortedRuns()
        fields.withLock { fields in
            fields[name]?.numbers.runs = runs
            fields[name]?.numbers.tail = []
        }
    }

    /// The slots below `bound` whose metadata matches `filter` (removed slots included).
    func candidates(_ filter: MetadataFilter, bound: Int) -> SlotSet {
        let plan = fields.withLock { fields in Plan(filter, fields: fields) }
        return plan.slots(bound: bound)
    }

    /// A filter with the posting lists it needs copied out of the index.
    private indirect enum Plan {
        case all([Plan])
        case any([Plan])
        /// The union of some lists, or (`negated`) every slot in none of them.
        case lists([Postings<UInt32>], negated: Bool)
        case range(NumberColumn, NumberRange)

        init(_ filter: MetadataFilter, fields: [String: Field]) {
            switch filter {
            case .all(let parts): self = .all(parts.map { Plan($0, fields: fields) })
            case .any(let parts): self = .any(parts.map { Plan($0, fields: fields) })
            case .field(let name, let condition):
                let field = fields[name]
                func lists(_ operands: some Sequence<MetadataFilter.Operand>) -> [Postings<UInt32>] {
                    operands.compactMap { field?.values[$0] }
                }
                // Pinecone's semantics (MetadataFilter.matches): a list matches $eq/$in when an element does and
                // $ne/$nin only when none does; a record without the field matches only $ne, $nin and $exists: false.
                switch condition {
                case .equal(let operand): self = .lists(lists([operand]), negated: false)
                case .notEqual(let operand): self = .lists(lists([operand]), negated: true)
                case .inSet(let operands): self = .lists(lists(operands), negated: false)
                case .notInSet(let operands): self = .lists(lists(operands), negated: true)
                case .exists(let wanted): self = .lists(field.map { [$0.present] } ?? [], negated: !wanted)
                case .greaterThan(let bound): self = .range(field?.numbers ?? NumberColumn(), NumberRange(lower: bound, inclusive: false))
                case .greaterThanOrEqual(let bound): self = .range(field?.numbers ?? NumberColumn(), NumberRange(lower: bound, inclusive: true))
                case .lessThan(let bound): self = .range(field?.numbers ?? NumberColumn(), NumberRange(upper: bound, inclusive: false))
                case .lessThanOrEqual(let bound): self = .range(field?.numbers ?? NumberColumn(), NumberRange(upper: bound, inclusive: true))
                }
            }
        }

        func slots(bound: Int) -> SlotSet {
            switch self {
            case .all(let parts):
                // The smallest first: intersecting with a small sorted set is a look-up per member.
                let sets = parts.map { $0.slots(bound: bound) }.sorted { $0.count < $1.count }
                return sets.dropFirst().reduce(sets.first ?? .all(bound: bound)) { $0.intersection($1) }
            case .any(let parts):
                return parts.map { $0.slots(bound: bound) }.reduce(SlotSet([], bound: bound)) { $0.union($1) }
            case .lists(let lists, let negated):
                var slots: [UInt32] = []
                for list in lists {
                    for index in 0..<list.partitionPoint({ Int($0) < bound }) { slots.append(list[index]) }
                }
                let set = SlotSet(slots, bound: bound, ascending: lists.count == 1)
                return negated ? set.inverted() : set
            case .range(let column, let range):
                return column.slots(in: range, bound: bound)
            }
        }
    }
}

/// One numeric metadata value and the slot holding it.
struct NumberEntry {
    var value: Double
    var slot: UInt32
}

/// One side of a numeric range (`$gt`, `$gte`, `$lt`, `$lte`).
struct NumberRange {
    var lower: Double?
    var upper: Double?
    var inclusive: Bool

    init(lower: Double, inclusive: Bool) {
        self.lower = lower
        self.inclusive = inclusive
    }

    init(upper: Double, inclusive: Bool) {
        self.upper = upper
        self.inclusive = inclusive
    }

    func contains(_ value: Double) -> Bool {
        if let lower { return inclusive ? value >= lower : value > lower }
        if let upper { return inclusive ? value <= upper : value < upper }
        return false
    }
}

/// A field's numbers as sorted runs plus a short unsorted tail, so a range is a binary search per run and a
/// scan of the tail. Full tails become runs, and a run is merged into the one before it while it is at
/// least half its size: there are O(log n) runs and each number is merged O(log n) times. Runs and tails
/// are replaced, never changed in place, once a reader may hold them (a reader's copy stays valid).
struct NumberColumn: Sendable {
    /// Largest first.
    var runs: [[NumberEntry]] = []
    var tail: [NumberEntry] = []

    var needsSorting: Bool { tail.count >= 256 }

    /// The runs with the tail sorted into them.
    func sortedRuns() -> [[NumberEntry]] {
        var runs = runs
        runs.append(tail.sorted { $0.value < $1.value })
        while runs.count >= 2, runs[runs.count - 1].count * 2 >= runs[runs.count - 2].count {
            let last = runs.removeLast()
            runs[runs.count - 1] = Self.merge(runs[runs.count - 1], last)
        }
        return runs
    }

    private static func merge(_ a: [NumberEntry], _ b: [NumberEntry]) -> [NumberEntry] {
        var result: [NumberEntry] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].value <= b[j].value) {
                result.append(a[i])
                i += 1
            } else {
                result.append(b[j])
                j += 1
            }
        }
        return result
    }

    func slots(in range: NumberRange, bound: Int) -> SlotSet {
        // In each run the matching values are one contiguous stretch.
        let stretches = runs.map { run in
            var start = 0
            var end = run.count
            if let lower = range.lower {
                start = run.partitionPoint { range.inclusive ? $0.value < lower : $0.value <= lower }
            } else if let upper = range.upper {
                end = run.partitionPoint { range.inclusive ? $0.value <= upper : $0.value < upper }
            }
            return start..<max(start, end)
        }
        let inRuns = stretches.reduce(0) { $0 + $1.count }
        // Filled in place: appending one by one checks the array's uniqueness for every slot.
        let slots = [UInt32](unsafeUninitializedCapacity: inRuns + tail.count) { buffer, initialized in
            for (run, stretch) in zip(runs, stretches) {
                run.withUnsafeBufferPointer { entries in
                    for index in stretch {
                        buffer[initialized] = entries[index].slot
                        initialized += 1
                    }
                }
            }
            for entry in tail where range.contains(entry.value) {
                buffer[initialized] = entry.slot
                initialized += 1
            }
        }
        return SlotSet(slots, bound: bound)
    }
}
