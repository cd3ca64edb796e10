import ConiferCore
@testable import ConiferIndex
import Testing

/// The metadata index against the reference: `MetadataFilter.matches` evaluated on every record the test
/// itself keeps, for random metadata and random filters over every operator.
@Suite struct MetadataIndexTests {
    static let genres = ["drama", "comedy", "news", "sport", "music"]

    static func metadata(_ generator: inout SplitMix64) -> Metadata {
        var metadata: Metadata = [:]
        func maybe(_ percent: UInt64) -> Bool { generator.next() % 100 < percent }
        if maybe(85) { metadata["genre"] = .string(genres.randomElement(using: &generator)!) }
        // Few distinct numbers (equality) and many (ranges across the sorted run and the unsorted tail).
        if maybe(80) { metadata["year"] = .number(Double(1990 + generator.next() % 30)) }
        if maybe(90) { metadata["score"] = .number(Double(generator.next() % 100_000) / 1000 - 50) }
        if maybe(50) { metadata["live"] = .bool(maybe(50)) }
        if maybe(60) { metadata["tags"] = .strings((0..<Int(generator.next() % 4)).map { _ in genres.randomElement(using: &generator)! }) }
        // A field whose type varies between records.
        if maybe(30) { metadata["mixed"] = maybe(50) ? .string("1") : .number(1) }
        return metadata
    }

    static func condition(_ generator: inout SplitMix64) -> MetadataFilter {
        let genre = MetadataFilter.Operand.string(genres.randomElement(using: &generator)!)
        let year = Double(1990 + generator.next() % 32)
        let score = Double(generator.next() % 100_000) / 1000 - 50
        let field = ["genre", "year", "score", "live", "tags", "mixed", "absent"].randomElement(using: &generator)!
        let conditions: [MetadataFilter.Condition]
        switch field {
        case "year": conditions = [.equal(.number(year)), .notEqual(.number(year)), .inSet([.number(year), .number(year + 1)]), .notInSet([.number(year)]), .greaterThanOrEqual(year)]
        case "score": conditions = [.greaterThan(score), .greaterThanOrEqual(score), .lessThan(score), .lessThanOrEqual(score), .exists(true)]
        case "live": conditions = [.equal(.bool(true)), .notEqual(.bool(false)), .exists(false)]
        case "mixed": conditions = [.equal(.string("1")), .equal(.number(1)), .notEqual(.number(1)), .inSet([.string("1")]), .lessThan(2)]
        default: conditions = [.equal(genre), .notEqual(genre), .inSet([genre, .string("news")]), .notInSet([genre]), .exists(true), .exists(false)]
        }
        return .field(field, conditions.randomElement(using: &generator)!)
    }

    static func filter(_ generator: inout SplitMix64, depth: Int = 0) -> MetadataFilter {
        switch depth < 2 ? generator.next() % 4 : 0 {
        case 1: .all((0..<Int(1 + generator.next() % 3)).map { _ in filter(&generator, depth: depth + 1) })
        case 2: .any((0..<Int(1 + generator.next() % 3)).map { _ in filter(&generator, depth: depth + 1) })
        default: condition(&generator)
        }
    }

    @Test func theIndexAgreesWithTheFilterReference() throws {
        var generator = SplitMix64(seed: 42)
        var state = IndexState(settings: EngineSettings(metric: .cosine))
        var expected: [String: Metadata] = [:]
        // Enough numbers per field that ranges read both a sorted run and an unsorted tail.
        for batch in 0..<12 {
            var records: [VectorRecord] = []
            for _ in 0..<400 {
                let id = "r\(generator.next() % 3000)"
                let metadata = Self.metadata(&generator)
                records.append(VectorRecord(id: id, values: [1, 0], metadata: metadata))
                expected[id] = metadata
            }
            state.apply(.upsert(namespace: "", records: records))
            if batch % 3 == 2 {
                let gone = (0..<150).map { _ in "r\(generator.next() % 3000)" }
                state.apply(.delete(namespace: "", ids: gone))
                for id in gone { expected[id] = nil }
            }
        }
        let namespace = try #require(state.view.snapshot(""))
        #expect(namespace.recordCount == expected.count)
        for _ in 0..<300 {
            let filter = Self.filter(&generator)
            let reference = expected.filter { filter.matches($0.value) }.keys.sorted()
            #expect(namespace.ids(matching: filter) == reference, "\(filter)")
            #expect(namespace.count(matching: filter) == reference.count)
        }
    }

    /// Slot sets, small (sorted arrays) and large (bitmaps), against Swift's `Set`.
    @Test func slotSetsAgreeWithSets() {
        var generator = SplitMix64(seed: 7)
        let bound = 1000
        func random() -> (SlotSet, Set<Int>) {
            // 10 slots makes a sorted array, 400 a bitmap; repeats and slots past the bound are dropped.
            let slots = (0..<(generator.next() % 2 == 0 ? 10 : 400)).map { _ in UInt32(generator.next() % 1100) }
            return (SlotSet(slots, bound: bound), Set(slots.map(Int.init).filter { $0 < bound }))
        }
        func members(_ set: SlotSet, in range: Range<Int>? = nil) -> [Int] {
            var result: [Int] = []
            set.forEach(in: range) { result.append($0) }
            return result
        }
        for _ in 0..<200 {
            let (a, expectedA) = random()
            let (b, expectedB) = random()
            #expect(members(a) == expectedA.sorted() && a.count == expectedA.count)
            #expect(members(a.intersection(b)) == expectedA.intersection(expectedB).sorted())
            #expect(members(a.union(b)) == expectedA.union(expectedB).sorted())
            #expect(members(a.inverted()) == Set(0..<bound).subtracting(expectedA).sorted())
            #expect(members(a, in: 130..<777) == expectedA.filter { (130..<777).contains($0) }.sorted())
            #expect((0..<1100).filter(a.contains) == expectedA.sorted())
        }
        #expect(SlotSet.all(bound: 70).count == 70)
    }

    /// A snapshot's candidate set holds only the slots it sees: records upserted later never match.
    @Test func laterWritesAreNotCandidates() throws {
        var state = IndexState(settings: EngineSettings(metric: .cosine))
        state.apply(.upsert(namespace: "", records: [VectorRecord(id: "a", values: [1, 0], metadata: ["n": .number(1)])]))
        let before = try #require(state.view.snapshot(""))
        state.apply(.upsert(namespace: "", records: [VectorRecord(id: "b", values: [1, 0], metadata: ["n": .number(1)])]))
        let filter = MetadataFilter.field("n", .lessThan(5))
        #expect(before.ids(matching: filter) == ["a"])
        #expect(before.search(SearchQuery(vector: [1, 0], sparse: nil, topK: 5, filter: filter), metric: .cosine).map(\.id) == ["a"])
        #expect(try #require(state.view.snapshot("")).ids(matching: filter) == ["a", "b"])
    }
}
