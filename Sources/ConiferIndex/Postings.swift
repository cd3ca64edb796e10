/// An append-only list of entries in slot order (a posting list of the metadata or sparse index): a plain
/// array while short, so the many lists of rare values stay small, and a `ChunkedBuffer` once long, so
/// appending never copies it.
///
/// The single writer appends under its index's lock; a reader copies the struct under the same lock and
/// reads the `count` entries its copy holds. A copied short array is the reader's own (the writer's next
/// append copies it, at most `shortLimit` entries); a long list's chunks never move and its entries below
/// the copied count were written before the lock was released.
struct Postings<Entry: BitwiseCopyable>: @unchecked Sendable {
    private static var shortLimit: Int { 64 }
    private var short: [Entry] = []
    private var long: ChunkedBuffer<Entry>?
    private(set) var count = 0

    mutating func append(_ entry: Entry) {
        if let long {
            long.append(entry)
        } else if short.count < Self.shortLimit {
            short.append(entry)
        } else {
            let long = ChunkedBuffer<Entry>()
            for earlier in short { long.append(earlier) }
            long.append(entry)
            self.long = long
            short = []
        }
        count += 1
    }

    @inline(__always)
    subscript(index: Int) -> Entry {
        if let long { return long[index] }
        return short[index]
    }

    /// The list cut to its first `count` entries (a reader keeps only the entries its snapshot holds).
    func truncated(to count: Int) -> Postings {
        var copy = self
        copy.count = Swift.min(count, self.count)
        return copy
    }
}

extension Postings: RandomAccessCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }
}

extension RandomAccessCollection where Index == Int {
    /// The first index from `start` on whose element does not satisfy `isBefore`, which must hold for a
    /// prefix of the collection: a binary search.
    @inlinable
    public func partitionPoint(from start: Int? = nil, _ isBefore: (Element) -> Bool) -> Int {
        var low = start ?? startIndex
        var high = endIndex
        while low < high {
            let middle = (low + high) / 2
            if isBefore(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// A set of slots below `bound`: the records a filter admits. A small set is a sorted array of slots, so
/// its cost follows the matches and not the namespace's size; a large one is a bitmap, one bit per slot.
struct SlotSet: Sendable {
    let bound: Int
    /// How many slots are in the set.
    let count: Int
    /// The slots ascending, for a small set (then `words` is empty).
    private let sorted: [UInt32]
    /// One bit per slot below `bound`, for a large set.
    private let words: [UInt64]
    private var isBitmap: Bool { !words.isEmpty || bound == 0 }

    /// The given slots (any order, repeats allowed); those at or beyond `bound` are left out. A sorted array
    /// when that is cheaper to build and walk than a bitmap (about `3 · bound / 64` word operations: zero,
    /// count, walk): ascending input up to `bound / 32` slots (where it stops being smaller), unsorted input
    /// while sorting it (`c · log₂ c`) costs less.
    init(_ slots: [UInt32], bound: Int, ascending: Bool = false) {
        let count = slots.count
        let log2 = Int.bitWidth - count.leadingZeroBitCount
        if ascending ? count > bound / 32 : count * log2 > 3 * bound / 64 {
            var words = [UInt64](repeating: 0, count: (bound + 63) / 64)
            var members = 0
            for slot in slots where Int(slot) < bound {
                let bit: UInt64 = 1 << UInt64(slot & 63)
                // Counted as set, so the words need no second pass to count them.
                if words[Int(slot) >> 6] & bit == 0 { members += 1 }
                words[Int(slot) >> 6] |= bit
            }
            self.init(bound: bound, words: words, count: members)
        } else {
            var unique: [UInt32] = []
            unique.reserveCapacity(count)
            for slot in ascending ? slots : slots.sorted() where Int(slot) < bound && unique.last != slot { unique.append(slot) }
            self.init(bound: bound, sorted: unique)
        }
    }

    /// Every slot below `bound`.
    static func all(bound: Int) -> SlotSet {
        SlotSet(bound: bound, words: Self.maskTail([UInt64](repeating: .max, count: (bound + 63) / 64), bound: bound))
    }

    private init(bound: Int, sorted: [UInt32]) {
        self.bound = bound
        count = sorted.count
        self.sorted = sorted
        words = []
    }

    private init(bound: Int, words: [UInt64], count: Int? = nil) {
        self.bound = bound
        self.count = count ?? words.reduce(0) { $0 + $1.nonzeroBitCount }
        sorted = []
        self.words = words
    }

    @inline(__always)
    func contains(_ slot: Int) -> Bool {
        guard slot < bound else { return false }
        if isBitmap { return words[slot >> 6] & (1 << UInt64(slot & 63)) != 0 }
        let index = sorted.partitionPoint { Int($0) < slot }
        return index < sorted.count && Int(sorted[index]) == slot
    }

    func intersection(_ other: SlotSet) -> SlotSet {
        if isBitmap, other.isBitmap { return SlotSet(bound: bound, words: zip(words, other.words).map { $0 & $1 }) }
        if !isBitmap { return SlotSet(bound: bound, sorted: sorted.filter { other.contains(Int($0)) }) }
        return SlotSet(bound: bound, sorted: other.sorted.filter { contains(Int($0)) })
    }

    func union(_ other: SlotSet) -> SlotSet {
        if !isBitmap, !other.isBitmap { return SlotSet(sorted + other.sorted, bound: bound) }
        var words = isBitmap ? words : other.words
        for slot in isBitmap ? other.sorted : sorted { words[Int(slot) >> 6] |= 1 << UInt64(slot & 63) }
        if isBitmap, other.isBitmap { words = zip(words, other.words).map { $0 | $1 } }
        return SlotSet(bound: bound, words: words)
    }

    /// Every slot below `bound` not in the set.
    func inverted() -> SlotSet {
        if isBitmap { return SlotSet(bound: bound, words: Self.maskTail(words.map { ~$0 }, bound: bound)) }
        var words = Self.maskTail([UInt64](repeating: .max, count: (bound + 63) / 64), bound: bound)
        for slot in sorted { words[Int(slot) >> 6] &= ~(1 << UInt64(slot & 63)) }
        return SlotSet(bound: bound, words: words)
    }

    /// The slots in the set within `range`, ascending.
    func members(in range: Range<Int>) -> [UInt32] {
        // Filled in place: appending one by one checks the array's uniqueness for every slot.
        [UInt32](unsafeUninitializedCapacity: Swift.min(count, Swift.max(0, range.count))) { buffer, initialized in
            forEach(in: range) { slot in
                buffer[initialized] = UInt32(slot)
                initialized += 1
            }
        }
    }

    /// Calls `body` with each slot in the set (within `range`, if given), ascending.
    @inline(__always)
    func forEach(in range: Range<Int>? = nil, _ body: (Int) -> Void) {
        let range = range.map { $0.clamped(to: 0..<bound) } ?? 0..<bound
        guard !range.isEmpty else { return }
        if !isBitmap {
            for slot in sorted where range.contains(Int(slot)) { body(Int(slot)) }
        } else {
            for index in range.lowerBound >> 6...(range.upperBound - 1) >> 6 {
                var bits = words[index]
                // Drop the bits outside the range in the first and last words.
                if index == range.lowerBound >> 6 { bits &= .max << UInt64(range.lowerBound & 63) }
                if index == (range.upperBound - 1) >> 6, range.upperBound & 63 != 0 { bits &= (1 << UInt64(range.upperBound & 63)) - 1 }
                while bits != 0 {
                    body(index << 6 | bits.trailingZeroBitCount)
                    bits &= bits - 1
                }
            }
        }
    }

    /// Clears the bits of the last word that stand for slots at or beyond `bound`.
    private static func maskTail(_ words: [UInt64], bound: Int) -> [UInt64] {
        var words = words
        if bound & 63 != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(bound & 63)) - 1 }
        return words
    }
}
