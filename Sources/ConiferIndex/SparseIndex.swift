import ConiferCore
import Synchronization

/// A namespace's inverted index of sparse values: for each sparse dimension, the slots that have it with
/// their values (ascending by slot), and the largest and smallest value seen, which bound what a record
/// can add to a query's score through that dimension.
///
/// The writer adds slots under a lock held for one batch; a reader holds it only to copy the lists of its
/// query's dimensions (see `Postings`). Removed slots stay listed until compaction rebuilds the namespace.
final class SparseIndex: @unchecked Sendable {
    struct Entry {
        var slot: UInt32
        var value: Float
    }

    struct Dimension {
        var postings = Postings<Entry>()
        var largest = -Float.infinity
        var smallest = Float.infinity
    }

    private let dimensions = Mutex<[UInt32: Dimension]>([:])

    /// Indexes the sparse values of slots `firstSlot…` (the writer, after appending them).
    func add(_ vectors: [SparseVector?], firstSlot: Int) {
        guard vectors.contains(where: { $0 != nil }) else { return }
        dimensions.withLock { dimensions in
            for (offset, sparse) in vectors.enumerated() {
                guard let sparse else { continue }
                let slot = UInt32(firstSlot + offset)
                for (index, value) in zip(sparse.indices, sparse.values) {
                    dimensions[index, default: Dimension()].add(Entry(slot: slot, value: value))
                }
            }
        }
    }

    /// The lists of the given dimensions (nil where no record has the dimension), as of now.
    func dimensions(_ indices: [UInt32]) -> [Dimension?] {
        dimensions.withLock { dimensions in indices.map { dimensions[$0] } }
    }
}

extension SparseIndex.Dimension {
    fileprivate mutating func add(_ entry: SparseIndex.Entry) {
        postings.append(entry)
        largest = max(largest, entry.value)
        smallest = min(smallest, entry.value)
    }
}

/// Top-k sparse dot-product search over the inverted index with MaxScore pruning (Turtle & Flood, 1995):
/// exact, the same results as scoring every record that shares a dimension with the query.
///
/// Query terms are ordered by the most any record can add through them. Once `topK` results are held, the
/// terms whose bounds add up to less than the worst kept score are "non-essential": a record found only in
/// their lists cannot enter, so candidates come from the essential lists alone, and a candidate's
/// non-essential terms are looked up (binary search) only while its bound still beats the threshold. A
/// surviving candidate is scored with the same kernel as the exact scan, so scores are identical.
enum SparseSearch {
    private struct Term {
        var weight: Float
        var postings: Postings<SparseIndex.Entry>
        /// The most a record can add through this term (never below zero, so sums of bounds only grow).
        var bound: Float
        var cursor = 0

        var current: UInt32? { cursor < postings.count ? postings[cursor].slot : nil }
    }

    static func search(
        _ namespace: NamespaceSnapshot, query: SparseVector, topK: Int, candidates: SlotSet?, into top: inout TopK
    ) {
        let store = namespace.store
        let mark = namespace.mark
        var terms: [Term] = []
        for (position, dimension) in store.sparseIndex.dimensions(query.indices).enumerated() {
            guard let dimension else { continue }
            let weight = query.values[position]
            // Only the slots this snapshot holds.
            let postings = dimension.postings.truncated(to: dimension.postings.partitionPoint { Int($0.slot) < mark.slots })
            let bound = max(0, weight * dimension.largest, weight * dimension.smallest)
            terms.append(Term(weight: weight, postings: postings, bound: bound))
        }
        terms.sort { $0.bound < $1.bound }
        // boundBelow[i]: the sum of the bounds of terms 0..<i, widened a little for rounding.
        var boundBelow: [Float] = [0]
        for term in terms { boundBelow.append(boundBelow[boundBelow.count - 1] + term.bound) }
        boundBelow = boundBelow.map { $0 * (1 + 1e-5) + .leastNormalMagnitude }

        var threshold = -Float.infinity
        var essential = 0
        while true {
            // The next candidate: the smallest slot any essential list is at.
            var next = UInt32.max
            for i in essential..<terms.count { if let slot = terms[i].current, slot < next { next = slot } }
            guard next != .max else { break }
            var partial: Float = 0
            for i in essential..<terms.count where terms[i].current == next {
                partial += terms[i].weight * terms[i].postings[terms[i].cursor].value
                terms[i].cursor += 1
            }
            // Add the non-essential terms, largest bound first, while the candidate can still beat the threshold.
            var alive = true
            for i in stride(from: essential - 1, through: 0, by: -1) {
                if partial + abs(partial) * 1e-5 + boundBelow[i + 1] < threshold {
                    alive = false
                    break
                }
                terms[i].cursor = terms[i].postings.partitionPoint(from: terms[i].cursor) { $0.slot < next }
                if terms[i].current == next { partial += terms[i].weight * terms[i].postings[terms[i].cursor].value }
            }
            let slot = Int(next)
            guard alive, candidates?.contains(slot) ?? true, store.isLive(slot, in: mark), let stored = store.sparse[slot]
            else { continue }
            let score = DistanceKernels.sparseDot(indices: query.indices, values: query.values, indices: stored.indices, values: stored.values)
            guard score.isFinite, top.admits(score: score) else { continue }
            top.insert(ScoredID(id: store.ids[slot], score: score, slot: slot))
            if let worst = top.worstScore {
                threshold = worst
                while essential < terms.count, boundBelow[essential + 1] < threshold { essential += 1 }
            }
        }
    }
}
