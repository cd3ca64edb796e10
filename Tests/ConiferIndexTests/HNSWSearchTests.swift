import ConiferCore
@testable import ConiferIndex
import Dispatch
import Foundation
import Synchronization
import Testing

/// The graph path of the planner against the exact scan of the same snapshot, with fixed seeds.
@Suite struct HNSWSearchTests {
    static let dimension = 16

    /// Clustered vectors (a Gaussian mixture), the shape HNSW meets in practice.
    struct Mixture {
        var generator: SplitMix64
        let centres: [[Float]]

        init(seed: UInt64, clusters: Int = 24) {
            var generator = SplitMix64(seed: seed)
            var centres: [[Float]] = []
            for _ in 0..<clusters {
                var centre: [Float] = []
                for _ in 0..<HNSWSearchTests.dimension { centre.append(Float.random(in: -1...1, using: &generator)) }
                centres.append(centre)
            }
            self.generator = generator
            self.centres = centres
        }

        mutating func vector() -> [Float] {
            let centre = centres[Int.random(in: 0..<centres.count, using: &generator)]
            return centre.map { $0 + Float.random(in: -0.35...0.35, using: &generator) }
        }
    }

    /// An index whose namespace "" holds `count` records `r<i>` with metadata `bucket = i % 1000`, its graph
    /// fully built, and the graph used from the first record on.
    static func built(
        _ metric: Metric, count: Int, seed: UInt64 = 1, threads: Int = 1, encoding: VectorEncoding = .float32, graphThreshold: Int = 0
    ) -> (state: IndexState, mixture: Mixture) {
        var mixture = Mixture(seed: seed)
        var state = IndexState(settings: settings(metric, threads: threads, encoding: encoding, graphThreshold: graphThreshold))
        for start in stride(from: 0, to: count, by: 500) {
            let records = (start..<min(count, start + 500)).map { i in
                VectorRecord(id: "r\(i)", values: mixture.vector(), metadata: ["bucket": .number(Double(i % 1000))])
            }
            state.apply(.upsert(namespace: "", records: records))
        }
        while state.view.buildGraphs(limit: .max) {}
        return (state, mixture)
    }

    static func settings(_ metric: Metric, threads: Int = 1, encoding: VectorEncoding = .float32, graphThreshold: Int = 0) -> EngineSettings {
        EngineSettings(
            metric: metric, hnsw: HNSWParameters(m: 12, efConstruction: 80, efSearch: 64), graphThreshold: graphThreshold, buildThreads: threads,
            encoding: encoding
        )
    }

    /// recall@k of the planner's answers against an exact scan of the same snapshot.
    static func recall(_ namespace: NamespaceSnapshot, _ metric: Metric, queries: [[Float]], topK: Int = 10, filter: MetadataFilter = .everything) -> Double {
        var found = 0
        var expected = 0
        for vector in queries {
            let query = SearchQuery(vector: vector, sparse: nil, topK: topK, filter: filter)
            let exact = Set(ExactSearch.search(namespace, query: query, metric: metric).map(\.id))
            let answer = namespace.search(query, metric: metric)
            #expect(answer.count == exact.count)
            found += answer.filter { exact.contains($0.id) }.count
            expected += exact.count
        }
        return expected == 0 ? 1 : Double(found) / Double(expected)
    }

    @Test(arguments: [Metric.cosine, .dotproduct, .euclidean])
    func recallAgainstTheExactScan(_ metric: Metric) throws {
        var (state, mixture) = Self.built(metric, count: 3000)
        let namespace = try #require(state.view.snapshot(""))
        let queries = (0..<60).map { _ in mixture.vector() }
        let recall = Self.recall(namespace, metric, queries: queries)
        #expect(recall >= 0.95, "recall@10 \(recall) for \(metric)")
        // Scores are Pinecone's, computed the same way on both paths.
        let query = SearchQuery(vector: queries[0], sparse: nil, topK: 5, filter: .everything)
        let exact = ExactSearch.search(namespace, query: query, metric: metric)
        for result in namespace.search(query, metric: metric) {
            if let same = exact.first(where: { $0.id == result.id }) { #expect(same.score == result.score) }
        }
        _ = state
    }

    /// Records holding the same vector tie: the graph's answer keeps the smallest ids among them with their
    /// exact scores, as the exact scan does (a float graph rescores only its first topK candidates and those
    /// tied with the k-th, so the ties must all reach the ranking).
    @Test(arguments: [Metric.cosine, .dotproduct, .euclidean])
    func tiedAnswersGoToTheSmallerIds(_ metric: Metric) throws {
        var (state, mixture) = Self.built(metric, count: 1500)
        // Longer than any other record, so that under every metric the copies are the closest to themselves.
        let twin = mixture.vector().map { $0 * 10 }
        // Written in the opposite order to their ids, so the order the graph meets them in is not the answer's.
        state.apply(.upsert(namespace: "", records: (0..<20).reversed().map { VectorRecord(id: "twin\($0 + 10)", values: twin) }))
        while state.view.buildGraphs(limit: .max) {}
        let namespace = try #require(state.view.snapshot(""))
        let query = SearchQuery(vector: twin, sparse: nil, topK: 4, filter: .everything)
        #expect(namespace.plan(query, metric: metric, candidates: nil) == .graph)
        let answer = namespace.search(query, metric: metric)
        #expect(answer.map(\.id) == ["twin10", "twin11", "twin12", "twin13"])
        #expect(answer == ExactSearch.search(namespace, query: query, metric: metric))
        _ = state
    }

    /// The search's heaps give their nodes back closest first (ties in any order), growing as they fill.
    @Test func aHeapDrainsClosestFirst() {
        var heap = MaxHeap(capacity: 2)
        defer { heap.release() }
        var generator = SplitMix64(seed: 3)
        let distances = (0..<100).map { _ in Float(Int.random(in: 0..<50, using: &generator)) }
        for (slot, distance) in distances.enumerated() { heap.push(Neighbor(distance: distance, slot: UInt32(slot))) }
        let drained = heap.drainAscending()
        #expect(drained.map(\.distance) == distances.sorted())
        #expect(Set(drained.map(\.slot)) == Set(0..<100))
        #expect(heap.count == 0)
    }

    /// A graph linked on several threads at once (per-node locks) is as good as one built on one thread,
    /// and sound: every link names another node of the graph, no list holds a node twice or overflows, every
    /// node has links, and nodes are found as often.
    @Test(arguments: [Metric.cosine, .euclidean])
    func aGraphBuiltOnSeveralThreadsKeepsRecall(_ metric: Metric) throws {
        var (state, mixture) = Self.built(metric, count: 4000, threads: 4)
        let namespace = try #require(state.view.snapshot(""))
        let queries = (0..<60).map { _ in mixture.vector() }
        let recall = Self.recall(namespace, metric, queries: queries)
        #expect(recall >= 0.95, "recall@10 \(recall) for \(metric) built on 4 threads")
        let graph = try #require(namespace.store.graph)
        #expect(graph.indexed == 4000)
        let image = try #require(graph.image(of: Array(0..<4000), renumbered: (0..<4000).map(UInt32.init)))
        var cursor = 0
        var linkCounts: [Int] = []
        for (node, level) in image.levels.enumerated() {
            for l in 0...Int(level) {
                let count = Int(image.links[cursor])
                let targets = image.links[cursor + 1..<cursor + 1 + count]
                #expect(count <= (l == 0 ? 24 : 12))
                #expect(Set(targets).count == count && !targets.contains(UInt32(node)) && targets.allSatisfy { $0 < 4000 })
                if l == 0 { linkCounts.append(count) }
                cursor += 1 + count
            }
        }
        #expect(linkCounts.allSatisfy { $0 > 0 }, "a node no search can reach")
        // Nodes stay reachable as often as in a graph built on one thread: a record's own vector finds the
        // record the exact scan puts first. (HNSW does not promise every node: a node whose in-links were all
        // pruned is missed by either build; which ones depends on the order of insertion.)
        func reachable(_ namespace: NamespaceSnapshot) throws -> Int {
            try stride(from: 0, to: 4000, by: 7).filter { slot in
                let query = SearchQuery(vector: try #require(namespace.record("r\(slot)")).values, sparse: nil, topK: 1, filter: .everything)
                return namespace.search(query, metric: metric).first == ExactSearch.search(namespace, query: query, metric: metric).first
            }.count
        }
        let (single, _) = Self.built(metric, count: 4000, threads: 1)
        let found = try reachable(namespace)
        let foundBySingle = try reachable(try #require(single.view.snapshot("")))
        #expect(found >= foundBySingle - 3 && found >= 560, "\(found) of 572 found (one thread: \(foundBySingle))")
        _ = single
        _ = state
    }

    /// The planner's own estimate: graph searches without a filter run inline; a filter, an unbuilt tail of
    /// thousands or a small namespace scanned exactly are sent to a thread of their own.
    @Test func quickSearchesAreTheUnfilteredGraphSearches() throws {
        var (state, mixture) = Self.built(.cosine, count: 1500)
        let query = SearchQuery(vector: mixture.vector(), sparse: nil, topK: 10, filter: .everything)
        let namespace = try #require(state.view.snapshot(""))
        #expect(namespace.searchIsQuick(query, metric: .cosine))
        var filtered = query
        filtered.filter = .field("bucket", .lessThan(10))
        #expect(!namespace.searchIsQuick(filtered, metric: .cosine))
        let tail = (0..<5000).map { VectorRecord(id: "t\($0)", values: mixture.vector()) }
        state.apply(.upsert(namespace: "", records: tail))
        #expect(!(try #require(state.view.snapshot(""))).searchIsQuick(query, metric: .cosine))
    }

    @Test func deletesAndOverwritesNeverAnswerAndRecallHolds() throws {
        var (state, mixture) = Self.built(.cosine, count: 3000)
        let deleted = (0..<3000).filter { $0 % 3 == 0 }.map { "r\($0)" }
        state.apply(.delete(namespace: "", ids: deleted))
        // Overwrite every seventh remaining record with a new vector: the old vector must not be found any more.
        let overwritten = (0..<3000).filter { $0 % 7 == 1 && $0 % 3 != 0 }.map { VectorRecord(id: "r\($0)", values: mixture.vector(), metadata: ["v": .number(2)]) }
        state.apply(.upsert(namespace: "", records: overwritten))
        let namespace = try #require(state.view.snapshot(""))
        #expect(namespace.recordCount == 2000)
        let deletedSet = Set(deleted)
        let queries = (0..<60).map { _ in mixture.vector() }
        for vector in queries {
            let results = namespace.search(SearchQuery(vector: vector, sparse: nil, topK: 10, filter: .everything), metric: .cosine)
            #expect(results.allSatisfy { !deletedSet.contains($0.id) })
        }
        // Every overwritten record is found by its new vector (and has its new metadata), with the graph
        // only partly aware of it (the new slots are not built yet: the tail scan finds them).
        for record in overwritten.prefix(20) {
            let best = namespace.search(SearchQuery(vector: record.values, sparse: nil, topK: 1, filter: .everything), metric: .cosine)
            #expect(best.first?.id == record.id)
            #expect(namespace.record(record.id)?.metadata["v"] == .number(2))
        }
        #expect(Self.recall(namespace, .cosine, queries: queries) >= 0.95)
        while state.view.buildGraphs(limit: .max) {}
        #expect(Self.recall(try #require(state.view.snapshot("")), .cosine, queries: queries) >= 0.95)
    }

    @Test func aDeletedNamespaceComesBackEmpty() throws {
        var (state, mixture) = Self.built(.euclidean, count: 1500)
        state.apply(.deleteNamespace(""))
        #expect(state.view.snapshot("") == nil)
        let fresh = VectorRecord(id: "new", values: mixture.vector())
        state.apply(.upsert(namespace: "", records: [fresh]))
        let namespace = try #require(state.view.snapshot(""))
        let results = namespace.search(SearchQuery(vector: mixture.vector(), sparse: nil, topK: 10, filter: .everything), metric: .euclidean)
        #expect(results.map(\.id) == ["new"])
    }

    /// Filters matching 50 %, 10 %, 1 % and 0.1 % of the records keep recall, and return exactly the
    /// matching records when fewer than topK match. Many candidates take the graph (walking through the
    /// records that do not match), few an exact scan of the candidates.
    @Test(arguments: [500.0, 100, 10, 1])
    func filteredSearchKeepsRecall(_ matchingBuckets: Double) throws {
        var (state, mixture) = Self.built(.cosine, count: 4000)
        let namespace = try #require(state.view.snapshot(""))
        let filter = MetadataFilter.field("bucket", .lessThan(matchingBuckets))
        let queries = (0..<40).map { _ in mixture.vector() }
        let plan = namespace.plan(SearchQuery(vector: queries[0], sparse: nil, topK: 10, filter: filter), metric: .cosine, candidates: namespace.candidates(filter))
        #expect(plan == (matchingBuckets == 500 ? .graph : .scan))
        let recall = Self.recall(namespace, .cosine, queries: queries, filter: filter)
        #expect(recall >= 0.95, "recall@10 \(recall) with \(matchingBuckets / 10) % matching")
        _ = state
    }

    /// A reader's snapshot keeps answering as of the moment it was taken while the writer moves on.
    @Test func snapshotsDoNotSeeLaterWrites() throws {
        var (state, mixture) = Self.built(.cosine, count: 2000)
        let before = try #require(state.view.snapshot(""))
        let probe = try #require(before.record("r5"))
        let query = SearchQuery(vector: probe.values, sparse: nil, topK: 3, filter: .everything)
        let answer = before.search(query, metric: .cosine)
        state.apply(.delete(namespace: "", ids: ["r5"]))
        state.apply(.upsert(namespace: "", records: [VectorRecord(id: "late", values: probe.values), VectorRecord(id: "r6", values: mixture.vector())]))
        while state.view.buildGraphs(limit: .max) {}
        #expect(before.recordCount == 2000)
        #expect(before.record("r5") == probe)
        #expect(before.record("late") == nil)
        #expect(before.search(query, metric: .cosine) == answer)
        #expect(before.ids(prefix: "late").isEmpty)
        let after = try #require(state.view.snapshot(""))
        #expect(after.recordCount == 2000)
        #expect(after.record("r5") == nil)
        #expect(after.search(query, metric: .cosine).first?.id == "late")
    }

    /// Readers searching and fetching while one writer overwrites records and a builder links them never see
    /// a record whose values and metadata come from different writes.
    @Test func concurrentReadersNeverSeeATornRecord() throws {
        let (initial, _) = Self.built(.euclidean, count: 1000)
        let state = Mutex(initial)
        let view = Mutex(initial.view)
        let readersDone = Atomic<Int>(0)
        let writerDone = Atomic<Bool>(false)
        let torn = Atomic<Int>(0)
        let checked = Atomic<Int>(0)
        // Threads of their own: a dispatch pool as wide as the two cores would run the roles one after another.
        let finished = DispatchGroup()
        for role in 0..<4 {
            finished.enter()
            Thread {
                defer { finished.leave() }
                run(role)
            }.start()
        }
        finished.wait()
        #expect(torn.load(ordering: .relaxed) == 0)
        #expect(checked.load(ordering: .relaxed) >= 2 * 50 * 10)

        @Sendable func run(_ role: Int) {
            switch role {
            case 0:
                // The writer: version v of record r<i> has every value equal to v and metadata v.
                // Bounded: every overwrite appends a slot that stays until compaction.
                for round in 0..<400 {
                    if round >= 100, readersDone.load(ordering: .acquiring) == 2 { break }
                    let version = round % 40 + 1
                    let records = (0..<200).map { i in
                        VectorRecord(id: "r\((i * 7 + version) % 1000)", values: Array(repeating: Float(version), count: Self.dimension), metadata: ["v": .number(Double(version))])
                    }
                    state.withLock { $0.apply(.upsert(namespace: "", records: records)) }
                    view.withLock { $0 = state.withLock { $0.view } }
                }
                writerDone.store(true, ordering: .releasing)
            case 1:
                while !writerDone.load(ordering: .acquiring) { _ = view.withLock { $0 }.buildGraphs(limit: 64) }
            default:
                var generator = SplitMix64(seed: UInt64(role))
                defer { readersDone.add(1, ordering: .releasing) }
                var searches = 0
                while searches < 50 || !writerDone.load(ordering: .acquiring) {
                    searches += 1
                    guard let namespace = view.withLock({ $0 }).snapshot("") else { continue }
                    let version = Float(Int.random(in: 1...40, using: &generator))
                    let query = SearchQuery(vector: Array(repeating: version, count: Self.dimension), sparse: nil, topK: 10, filter: .everything)
                    for result in namespace.search(query, metric: .euclidean) {
                        guard let record = namespace.record(result.id) else {
                            torn.add(1, ordering: .relaxed)
                            continue
                        }
                        if case .number(let v) = record.metadata["v"], record.values.contains(where: { $0 != Float(v) }) {
                            torn.add(1, ordering: .relaxed)
                        }
                        checked.add(1, ordering: .relaxed)
                    }
                }
            }
        }
    }
}
