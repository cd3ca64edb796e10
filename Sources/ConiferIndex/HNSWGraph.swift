import ConiferKernels
import Foundation
import Synchronization

/// How a namespace's HNSW graph is built and searched.
public struct HNSWParameters: Sendable, Equatable {
    /// Links per node on the upper levels; level 0 keeps twice as many.
    public var m: Int
    /// Candidates considered while linking a new node.
    public var efConstruction: Int
    /// Candidates kept while searching (never fewer than the query's topK).
    public var efSearch: Int

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 160) {
        self.m = max(2, m)
        self.efConstruction = max(1, efConstruction)
        self.efSearch = max(1, efSearch)
    }
}

/// A node and its distance from whatever is being searched for.
struct Neighbor {
    var distance: Float
    var slot: UInt32
}

/// A hierarchical navigable small-world graph (Malkov & Yashunin, 2016) over a namespace's slots.
///
/// One builder adds slots in batches (`insert`, in slot order): it gives each new slot its level and empty
/// link lists, then links the batch's nodes on several threads at once, as hnswlib's threaded `add_items`
/// does: a thread changes a node's list only while holding that node's lock (one of `lockStripes`, never two
/// at a time), so back links from threads inserting neighbours at once are merged, not lost. Any number of
/// readers search meanwhile without locks. Links are atomics: a writer stores a list's entries, then its
/// count, with release stores, and a reader loads them with acquiring loads, so every id it finds names a
/// node whose vector and row are already written. A reader may see a list half rewritten; every entry is
/// still a valid node, which is all approximate search needs. Removed slots stay in the graph as waypoints;
/// searches skip them in results.
final class HNSWGraph: @unchecked Sendable {
    let parameters: HNSWParameters
    let space: VectorSpace
    private let m0: Int
    private let levelScale: Double
    /// Per slot: link count, then up to `m0` links (level 0).
    private let level0: ChunkedBuffer<Atomic<UInt32>>
    /// Per slot: its top level.
    private let levels = ChunkedBuffer<UInt8>()
    /// Per slot above level 0: `level × (1 + m)` entries, count then links for levels 1…level.
    private let upper = ChunkedBuffer<UnsafeMutablePointer<Atomic<UInt32>>?>()
    /// `(top level << 32) | slot` of the entry node, or `.max` while the graph is empty.
    private let entry = Atomic<UInt64>(.max)
    /// Slots below this are in the graph (or were skipped as removed before they were indexed).
    private let indexedCount = Atomic<Int>(0)
    /// Slots whose rows exist (any id a reader meets is below this).
    private let rowCount = Atomic<Int>(0)
    /// The builder's own state: levels are drawn in slot order, so a graph built on one thread is reproducible.
    private var random: SplitMix64
    /// One per linking thread.
    private var builderScratches: [SearchScratch] = []
    private let scratchPool = Mutex<[SearchScratch]>([])
    /// Node `n`'s lists change only under lock `n % lockStripes`.
    private static var lockStripes: Int { 4096 }
    private let locks: UnsafeMutablePointer<Mutex<Void>>
    /// Held to raise the entry node (a new top level).
    private let entryLock = Mutex<Void>(())

    init(space: VectorSpace, parameters: HNSWParameters, seed: UInt64 = 0x5EED) {
        self.space = space
        self.parameters = parameters
        m0 = 2 * parameters.m
        levelScale = 1 / log(Double(parameters.m))
        level0 = ChunkedBuffer(width: 1 + 2 * parameters.m)
        random = SplitMix64(seed: seed)
        locks = .allocate(capacity: Self.lockStripes)
        for i in 0..<Self.lockStripes { (locks + i).initialize(to: Mutex(())) }
    }

    deinit {
        locks.deinitialize(count: Self.lockStripes)
        locks.deallocate()
        for slot in 0..<upper.count {
            if let block = upper[slot] {
                block.deinitialize(count: Int(levels[slot]) * (1 + parameters.m))
                block.deallocate()
            }
        }
    }

    /// Slots below this have been handed to `insert`.
    var indexed: Int { indexedCount.load(ordering: .acquiring) }

    // MARK: Building (one builder, several linking threads)

    /// Adds the next `removed.count` slots (the first is `indexed`), linking them on up to `threads` threads.
    /// A slot already removed (`removed[i]`) gets an empty row and no links. Readers see the batch's nodes
    /// as results once it is done (`indexed`); while it is linked they may walk through them.
    /// An int8 space gets the batch's codes first (learning its quantizer from the rows below `sampleEnd`
    /// the first time).
    func insert(removed: [Bool], threads: Int, sampleEnd: Int) {
        let first = indexed
        let end = first + removed.count
        space.encode(upTo: end, sampleEnd: max(end, sampleEnd))
        let nodeLevels = removed.map { isRemoved in
            let level = isRemoved ? 0 : randomLevel()
            appendRow(level: level)
            return level
        }
        rowCount.store(end, ordering: .releasing)
        let workers = max(1, min(threads, removed.count))
        while builderScratches.count < workers { builderScratches.append(SearchScratch(maxLinks: m0, dimension: space.dimension)) }
        for scratch in builderScratches.prefix(workers) { scratch.prepare(capacity: end) }
        // Threads of their own, not `DispatchQueue.concurrentPerform`: called from a thread of Swift's
        // cooperative pool, that ran every iteration on the caller, one after the other. With one worker the
        // caller links the batch alone, in slot order.
        let next = WorkCounter()
        let scratches = builderScratches
        let work: @Sendable (Int) -> Void = { [self] worker in
            while true {
                let offset = next.take()
                guard offset < removed.count else { return }
                if !removed[offset] { link(UInt32(first + offset), level: nodeLevels[offset], limit: end, scratch: scratches[worker]) }
            }
        }
        let finished = DispatchGroup()
        for worker in 1..<workers {
            finished.enter()
            let thread = Thread {
                work(worker)
                finished.leave()
            }
            thread.name = "conifer-graph-link"
            thread.start()
        }
        work(0)
        finished.wait()
        indexedCount.store(end, ordering: .releasing)
    }

    /// Links a node whose row exists into the graph: hnswlib's insertion, with every change to a list made
    /// under its node's lock. Nodes below `limit` have rows (some may still be unlinked: they have no links
    /// yet, so no search reaches them).
    private func link(_ slot: UInt32, level: Int, limit: Int, scratch: SearchScratch) {
        var current = entry.load(ordering: .acquiring)
        if current == .max {
            let becameEntry = entryLock.withLock { _ in
                guard entry.load(ordering: .acquiring) == .max else { return false }
                entry.store(UInt64(level) << 32 | UInt64(slot), ordering: .releasing)
                return true
            }
            if becameEntry { return }
            current = entry.load(ordering: .acquiring)
        }
        let distances = ProbeDistances(space: space, probe: space.probe(slot))
        let topLevel = Int(current >> 32)
        var nearest = Neighbor(distance: distances.distance(to: UInt32(truncatingIfNeeded: current)), slot: UInt32(truncatingIfNeeded: current))
        if topLevel > level {
            for l in stride(from: topLevel, to: level, by: -1) {
                nearest = greedy(distances, from: nearest, level: l, limit: limit)
            }
        }
        for l in stride(from: min(level, topLevel), through: 0, by: -1) {
            let candidates = searchLayer(distances, from: nearest, ef: parameters.efConstruction, level: l, limit: limit, scratch: scratch, accepting: AllBut(slot: slot))
            let selected = selectNeighbors(candidates, keeping: parameters.m)
            setOwnLinks(slot, level: l, to: selected)
            for neighbor in selected {
                addLink(neighbor.slot, to: slot, distance: neighbor.distance, level: l)
            }
            if let closest = candidates.first { nearest = closest }
        }
        if level > topLevel {
            entryLock.withLock { _ in
                let now = entry.load(ordering: .acquiring)
                if now == .max || level > Int(now >> 32) { entry.store(UInt64(level) << 32 | UInt64(slot), ordering: .releasing) }
            }
        }
    }

    @inline(__always)
    private func withLock<R>(_ node: UInt32, _ body: () -> R) -> R {
        (locks + Int(node) % Self.lockStripes).pointee.withLock { _ in body() }
    }

    /// Empty link lists for the next slot, up to `level`.
    private func appendRow(level: Int) {
        let row = level0.appendSlot()
        for i in 0...m0 { (row + i).initialize(to: Atomic(0)) }
        levels.append(UInt8(level))
        if level > 0 {
            let count = level * (1 + parameters.m)
            let block = UnsafeMutablePointer<Atomic<UInt32>>.allocate(capacity: count)
            for i in 0..<count { (block + i).initialize(to: Atomic(0)) }
            upper.append(block)
        } else {
            upper.append(nil)
        }
    }

    private func randomLevel() -> Int {
        let uniform = Double(random.next() >> 11) * 0x1.0p-53
        return min(Int(-log(max(uniform, .leastNormalMagnitude)) * levelScale), 30)
    }

    /// hnswlib's neighbor heuristic: keep a candidate only if it is closer to the new node than to every
    /// neighbor kept so far, so links spread in different directions.
    private func selectNeighbors(_ candidates: [Neighbor], keeping limit: Int) -> [Neighbor] {
        guard candidates.count > limit else { return candidates }
        var kept: [Neighbor] = []
        kept.reserveCapacity(limit)
        for candidate in candidates {
            if kept.count == limit { break }
            if kept.allSatisfy({ space.distance($0.slot, candidate.slot) >= candidate.distance }) {
                kept.append(candidate)
            }
        }
        return kept
    }

    private func setLinks(_ slot: UInt32, level: Int, to targets: [UInt32]) {
        let list = links(slot, level: level)
        for (i, target) in targets.enumerated() {
            list[1 + i].store(target, ordering: .releasing)
        }
        list[0].store(UInt32(targets.count), ordering: .releasing)
    }

    /// A new node's links on one level: `selected`, merged with back links other threads gave it meanwhile
    /// (pruned by the heuristic if together they are too many).
    private func setOwnLinks(_ slot: UInt32, level: Int, to selected: [Neighbor]) {
        withLock(slot) {
            let list = links(slot, level: level)
            let existing = Int(list[0].load(ordering: .relaxed))
            guard existing > 0 else { return setLinks(slot, level: level, to: selected.map(\.slot)) }
            var candidates = selected
            for i in 1...existing {
                let other = list[i].load(ordering: .relaxed)
                if !candidates.contains(where: { $0.slot == other }) {
                    candidates.append(Neighbor(distance: space.distance(slot, other), slot: other))
                }
            }
            candidates.sort { $0.distance < $1.distance }
            setLinks(slot, level: level, to: selectNeighbors(candidates, keeping: level == 0 ? m0 : parameters.m).map(\.slot))
        }
    }

    /// Adds a back link from `node` to `slot`, pruning `node`'s list by the heuristic when it is full.
    private func addLink(_ node: UInt32, to slot: UInt32, distance: Float, level: Int) {
        withLock(node) {
            let list = links(node, level: level)
            let capacity = level == 0 ? m0 : parameters.m
            let count = Int(list[0].load(ordering: .relaxed))
            if count < capacity {
                list[1 + count].store(slot, ordering: .releasing)
                list[0].store(UInt32(count + 1), ordering: .releasing)
                return
            }
            var candidates = [Neighbor(distance: distance, slot: slot)]
            for i in 1...count {
                let other = list[i].load(ordering: .relaxed)
                candidates.append(Neighbor(distance: space.distance(node, other), slot: other))
            }
            candidates.sort { $0.distance < $1.distance }
            setLinks(node, level: level, to: selectNeighbors(candidates, keeping: capacity).map(\.slot))
        }
    }

    // MARK: Saving and loading

    /// The graph over `live` (ascending slots of one snapshot) renumbered by `renumbered`: nodes the builder
    /// had reached, their links to removed or unreached slots replaced by those slots' live links, pruned
    /// by the neighbour heuristic.
    func image(of live: [Int], renumbered: [UInt32]) -> GraphImage? {
        let indexed = min(self.indexed, renumbered.count)
        func exported(_ slot: UInt32) -> Bool { Int(slot) < indexed && renumbered[Int(slot)] != NamespaceStore.absent }
        var levelsOut: [UInt8] = []
        var linksOut: [UInt32] = []
        var entrySlot: Int?
        for slot in live {
            guard slot < indexed else { break }
            let level = Int(levels[slot])
            levelsOut.append(UInt8(level))
            if entrySlot.map({ level > Int(levels[$0]) }) ?? true { entrySlot = slot }
            for l in 0...level {
                let targets = repairedLinks(UInt32(slot), level: l, exported: exported)
                linksOut.append(UInt32(targets.count))
                linksOut += targets.map { renumbered[Int($0)] }
            }
        }
        let current = entry.load(ordering: .acquiring)
        let currentSlot = UInt32(truncatingIfNeeded: current)
        if current != .max, exported(currentSlot) { entrySlot = Int(currentSlot) }
        guard let entrySlot else { return nil }
        return GraphImage(m: parameters.m, levels: levelsOut, links: linksOut, entry: renumbered[entrySlot])
    }

    private func repairedLinks(_ slot: UInt32, level: Int, exported: (UInt32) -> Bool) -> [UInt32] {
        let list = links(slot, level: level)
        let count = Int(list[0].load(ordering: .acquiring))
        var kept: [UInt32] = []
        var lost: [UInt32] = []
        for i in 0..<count {
            let target = list[1 + i].load(ordering: .acquiring)
            if exported(target) { kept.append(target) } else if Int(target) < rowCount.load(ordering: .acquiring) { lost.append(target) }
        }
        guard !lost.isEmpty else { return kept }
        var candidates = Set(kept)
        for gone in lost where Int(levels[Int(gone)]) >= level {
            let goneList = links(gone, level: level)
            for i in 0..<Int(goneList[0].load(ordering: .acquiring)) {
                let target = goneList[1 + i].load(ordering: .acquiring)
                if target != slot, exported(target) { candidates.insert(target) }
            }
        }
        let sorted = candidates.map { Neighbor(distance: space.distance(slot, $0), slot: $0) }.sorted { $0.distance < $1.distance }
        return selectNeighbors(sorted, keeping: level == 0 ? m0 : parameters.m).map(\.slot)
    }

    /// Loads a saved graph into a graph that has no nodes yet (its slots already hold the image's records).
    func restore(_ image: GraphImage) {
        space.encode(upTo: image.levels.count, sampleEnd: space.norms.count)
        var cursor = 0
        for (slot, level) in image.levels.enumerated() {
            appendRow(level: Int(level))
            for l in 0...Int(level) {
                let count = Int(image.links[cursor])
                setLinks(UInt32(slot), level: l, to: Array(image.links[cursor + 1..<cursor + 1 + count]))
                cursor += 1 + count
            }
        }
        rowCount.store(image.levels.count, ordering: .releasing)
        entry.store(UInt64(image.levels[Int(image.entry)]) << 32 | UInt64(image.entry), ordering: .releasing)
        indexedCount.store(image.levels.count, ordering: .releasing)
    }

    // MARK: Searching (any thread)

    /// The `ef` nearest accepted nodes to a query, closest first. `filter` decides which nodes may be
    /// results (live in the reader's snapshot, matching its filter); the search still walks through the
    /// others, so a selective filter does not cut the graph apart.
    func search<Filter: NodeFilter>(_ query: UnsafePointer<Float>, norm queryNorm: Float, ef: Int, accepting filter: Filter) -> [Neighbor] {
        let current = entry.load(ordering: .acquiring)
        guard current != .max else { return [] }
        let limit = rowCount.load(ordering: .acquiring)
        let scratch = scratchPool.withLock { $0.popLast() } ?? SearchScratch(maxLinks: m0, dimension: space.dimension)
        defer { scratchPool.withLock { $0.append(scratch) } }
        scratch.prepare(capacity: limit)
        let probe = space.probe(query: query, norm: queryNorm, codes: scratch.queryCodes)
        return space.withDistances(from: probe, QueryWalk(graph: self, entry: current, ef: ef, limit: limit, scratch: scratch, filter: filter))
    }

    /// A query's walk down the levels from the entry node, generic over the distances (see `withDistances`).
    private struct QueryWalk<Filter: NodeFilter>: DistanceUser {
        let graph: HNSWGraph
        let entry: UInt64
        let ef: Int
        let limit: Int
        let scratch: SearchScratch
        let filter: Filter

        func run(_ distances: some Distances) -> [Neighbor] {
            let start = UInt32(truncatingIfNeeded: entry)
            var nearest = Neighbor(distance: distances.distance(to: start), slot: start)
            for level in stride(from: Int(entry >> 32), to: 0, by: -1) {
                nearest = graph.greedy(distances, from: nearest, level: level, limit: limit)
            }
            return graph.searchLayer(distances, from: nearest, ef: ef, level: 0, limit: limit, scratch: scratch, accepting: filter)
        }
    }

    @inline(__always)
    private func links(_ slot: UInt32, level: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        level == 0 ? level0.pointer(Int(slot)) : upper[Int(slot)].unsafelyUnwrapped + (level - 1) * (1 + parameters.m)
    }

    /// Walks to ever closer nodes on one level until none of the current node's links is closer.
    private func greedy(_ distances: some Distances, from start: Neighbor, level: Int, limit: Int) -> Neighbor {
        var nearest = start
        var moved = true
        while moved {
            moved = false
            let list = links(nearest.slot, level: level)
            let count = Int(list[0].load(ordering: .acquiring))
            for i in 0..<count {
                let candidate = list[1 + i].load(ordering: .acquiring)
                guard Int(candidate) < limit else { continue }
                let distance = distances.distance(to: candidate)
                if distance < nearest.distance {
                    nearest = Neighbor(distance: distance, slot: candidate)
                    moved = true
                }
            }
        }
        return nearest
    }

    /// Best-first search of one level keeping the `ef` closest accepted nodes (hnswlib's filtered base-layer
    /// search); returns them closest first.
    private func searchLayer<Filter: NodeFilter>(
        _ distances: some Distances, from start: Neighbor, ef: Int, level: Int, limit: Int, scratch: SearchScratch, accepting filter: Filter
    ) -> [Neighbor] {
        let (visited, generation) = scratch.startSearch()
        visited[Int(start.slot)] = generation
        let level0Lists = level0.addresses
        let fresh = scratch.fresh
        let freshAddresses = scratch.freshAddresses
        @inline(__always) func links(_ slot: UInt32) -> UnsafeMutablePointer<Atomic<UInt32>> {
            level == 0 ? level0Lists.pointer(Int(slot)) : self.links(slot, level: level)
        }
        return scratch.withHeaps { candidates, results in
            candidates.removeAll()
            results.removeAll()
            var bound = Float.infinity
            if filter.accepts(start.slot) {
                results.push(start)
                bound = start.distance
            }
            candidates.push(Neighbor(distance: -start.distance, slot: start.slot))
            while let next = candidates.top {
                let distance = -next.distance
                if distance > bound, results.count == ef { break }
                candidates.pop()
                let list = links(next.slot)
                // Unvisited neighbours first, their vectors requested from memory before any distance is computed.
                var freshCount = 0
                for i in 0..<Int(list[0].load(ordering: .acquiring)) {
                    let candidate = list[1 + i].load(ordering: .acquiring)
                    guard Int(candidate) < limit, visited[Int(candidate)] != generation else { continue }
                    visited[Int(candidate)] = generation
                    let address = distances.address(of: candidate)
                    distances.prefetch(candidate, at: address)
                    fresh[freshCount] = candidate
                    freshAddresses[freshCount] = address
                    freshCount &+= 1
                }
                for i in 0..<freshCount {
                    let candidate = fresh[i]
                    let candidateDistance = distances.distance(to: candidate, at: freshAddresses[i])
                    guard results.count < ef || candidateDistance < bound else { continue }
                    candidates.push(Neighbor(distance: -candidateDistance, slot: candidate))
                    // It may be expanded next: ask for its links too.
                    conifer_prefetch(links(candidate))
                    if filter.accepts(candidate) {
                        if results.count < ef {
                            results.push(Neighbor(distance: candidateDistance, slot: candidate))
                        } else {
                            results.replaceTop(with: Neighbor(distance: candidateDistance, slot: candidate))
                        }
                    }
                    if let worst = results.top { bound = worst.distance }
                }
            }
            return results.drainAscending()
        }
    }
}

/// Which nodes a graph search may return (it walks through the others too). Searches are generic over it,
/// so each kind is compiled into the search loop rather than called per node.
protocol NodeFilter {
    func accepts(_ slot: UInt32) -> Bool
}

/// Every node but one (the node being linked).
private struct AllBut: NodeFilter {
    let slot: UInt32

    @inline(__always)
    func accepts(_ slot: UInt32) -> Bool { slot != self.slot }
}

/// The next item of a batch that several threads share.
private final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// What one search needs besides the graph: a visited set stamped with a generation (cleared only when
/// the generation wraps) and the two heaps; pooled, so a search allocates nothing once warm.
final class SearchScratch: @unchecked Sendable {
    private var visited: UnsafeMutablePointer<UInt16>
    private var capacity: Int
    private var generation: UInt16 = 0
    private var candidates = MaxHeap()
    private var results = MaxHeap()
    /// The unvisited neighbours of the node being expanded, and where their vectors are.
    let fresh: UnsafeMutablePointer<UInt32>
    let freshAddresses: UnsafeMutablePointer<UnsafeRawPointer>
    /// An int8 space's codes of the query.
    let queryCodes: UnsafeMutablePointer<Int8>

    init(maxLinks: Int, dimension: Int) {
        queryCodes = .allocate(capacity: dimension)
        queryCodes.initialize(repeating: 0, count: dimension)
        capacity = 1024
        visited = .allocate(capacity: capacity)
        visited.initialize(repeating: 0, count: capacity)
        fresh = .allocate(capacity: maxLinks)
        fresh.initialize(repeating: 0, count: maxLinks)
        freshAddresses = .allocate(capacity: maxLinks)
    }

    deinit {
        visited.deallocate()
        fresh.deallocate()
        freshAddresses.deallocate()
        queryCodes.deallocate()
        candidates.release()
        results.release()
    }

    func prepare(capacity needed: Int) {
        guard needed > capacity else { return }
        visited.deallocate()
        capacity = max(needed, capacity + capacity / 2)
        visited = .allocate(capacity: capacity)
        visited.initialize(repeating: 0, count: capacity)
        generation = 0
    }

    /// Runs `body` on the two heaps (one exclusive access for the whole search, not one per push).
    func withHeaps<Result>(_ body: (inout MaxHeap, inout MaxHeap) -> Result) -> Result {
        body(&candidates, &results)
    }

    /// Starts a search: returns the visited marks and the mark of this search (a slot holding it was visited).
    func startSearch() -> (marks: UnsafeMutablePointer<UInt16>, generation: UInt16) {
        if generation == .max {
            visited.update(repeating: 0, count: capacity)
            generation = 0
        }
        generation += 1
        return (visited, generation)
    }
}

/// A binary max-heap of neighbors by distance (candidates are pushed negated to pop the closest first).
///
/// Its storage is a buffer it owns and grows, not an array: no uniqueness or bounds checks on the hot path.
/// Only `SearchScratch` makes them and frees them (`release`); a heap is never copied.
struct MaxHeap {
    private var items: UnsafeMutablePointer<Neighbor>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        items = .allocate(capacity: capacity)
    }

    func release() { items.deallocate() }

    var top: Neighbor? { count > 0 ? items[0] : nil }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func push(_ item: Neighbor) {
        if count == capacity { grow() }
        var child = count
        count += 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            guard items[parent].distance < item.distance else { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = item
    }

    @inline(__always)
    mutating func pop() {
        guard count > 0 else { return }
        count -= 1
        guard count > 0 else { return }
        replaceTop(with: items[count])
    }

    /// Replaces the largest item (the heap is not empty), sifting the new one down to its place.
    @inline(__always)
    mutating func replaceTop(with item: Neighbor) {
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1
            guard left < count else { break }
            let right = left &+ 1
            let larger = right < count && items[right].distance > items[left].distance ? right : left
            guard items[larger].distance > item.distance else { break }
            items[parent] = items[larger]
            parent = larger
        }
        items[parent] = item
    }

    /// Empties the heap into an array, closest first (popping the largest into the last free place).
    mutating func drainAscending() -> [Neighbor] {
        [Neighbor](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = count
            while let largest = top {
                pop()
                (buffer.baseAddress! + count).initialize(to: largest)
            }
        }
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Neighbor>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = larger
        capacity *= 2
    }
}

/// SplitMix64 (Steele et al. 2014): a small seeded generator, so graphs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

