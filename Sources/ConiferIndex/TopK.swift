/// One search result: a record id and its score, and the slot of the snapshot that holds the record (so
/// reading it back needs no lookup by id; not part of equality: the same answer from another snapshot may
/// sit in other slots).
public struct ScoredID: Sendable, Equatable {
    public var id: String
    public var score: Float
    public var slot: Int

    public init(id: String, score: Float, slot: Int) {
        self.id = id
        self.score = score
        self.slot = slot
    }

    public static func == (lhs: ScoredID, rhs: ScoredID) -> Bool {
        lhs.id == rhs.id && lhs.score == rhs.score
    }
}

/// Keeps the best `k` of a stream of scored ids in a bounded binary heap.
///
/// "Better" is a higher score, or a lower one when `lowerIsBetter` (euclidean distances); ties go to the
/// smaller id, so results are deterministic.
public struct TopK {
    public let k: Int
    public let lowerIsBetter: Bool
    /// A heap whose root is the worst kept result.
    private var heap: [ScoredID] = []

    public init(k: Int, lowerIsBetter: Bool) {
        self.k = k
        self.lowerIsBetter = lowerIsBetter
        heap.reserveCapacity(min(k, 4096))
    }

    /// Whether `a` ranks before `b`.
    @inlinable
    public func isBetter(_ a: ScoredID, than b: ScoredID) -> Bool {
        if a.score != b.score { return lowerIsBetter ? a.score < b.score : a.score > b.score }
        return a.id < b.id
    }

    /// The worst kept score, once `k` results are kept.
    public var worstScore: Float? { heap.count == k ? heap.first?.score : nil }

    /// Whether a score could enter the kept set (a cheap check before building the id string).
    public func admits(score: Float) -> Bool {
        guard heap.count == k, let worst = heap.first else { return k > 0 }
        return lowerIsBetter ? score <= worst.score : score >= worst.score
    }

    public mutating func insert(_ candidate: ScoredID) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count - 1)
        } else if isBetter(candidate, than: heap[0]) {
            heap[0] = candidate
            siftDown(0)
        }
    }

    /// The kept results, best first.
    public func sorted() -> [ScoredID] {
        heap.sorted { isBetter($0, than: $1) }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            // The root holds the worst, so a worse child moves up.
            guard isBetter(heap[parent], than: heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var worst = parent
            if left < heap.count, isBetter(heap[worst], than: heap[left]) { worst = left }
            if right < heap.count, isBetter(heap[worst], than: heap[right]) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
