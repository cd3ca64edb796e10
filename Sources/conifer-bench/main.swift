// Micro-benchmark of the exact-search engine, without HTTP or JSON. Run in release:
//
//   swift run -c release conifer-bench [vectors] [queries]
//       query latency over random 768-d vectors, with and without a 10 % filter, for every metric;
//   conifer-bench --base F --queries F --dimension D [--metric cosine] [--topk 10] [--results F]
//       the same engine over vectors read from files of little-endian float32 rows (what
//       benchmarks/search_vs_hnswlib.py uses to compare with hnswlib on identical data); writes the ids
//       found for each query, one line of space-separated row numbers per query, to --results.
import ConiferCore
import ConiferIndex
import Foundation

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func report(_ label: String, _ samples: [Double]) {
    let sorted = samples.sorted()
    let p50 = sorted[sorted.count / 2]
    let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    let qps = Double(sorted.count) / (sorted.reduce(0, +) / 1000)
    print("\(label): p50 \(String(format: "%.2f", p50)) ms  p99 \(String(format: "%.2f", p99)) ms  \(String(format: "%.1f", qps)) queries/s")
}

func readRows(_ path: String, dimension: Int) throws -> [[Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<$0 + dimension]) }
}

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

if let basePath = option("--base"), let queryPath = option("--queries"), let dimension = option("--dimension").flatMap(Int.init) {
    let metric = Metric(rawValue: option("--metric") ?? "cosine") ?? .cosine
    let topK = option("--topk").flatMap(Int.init) ?? 10
    let base = try readRows(basePath, dimension: dimension)
    let queries = try readRows(queryPath, dimension: dimension)
    var state = IndexState()
    let loadStart = ContinuousClock.now
    state.apply(.upsert(namespace: "", records: base.enumerated().map { VectorRecord(id: String($0.offset), values: $0.element) }))
    print("built \(base.count) x \(dimension) in \(ContinuousClock.now - loadStart)")
    var samples: [Double] = []
    var lines: [String] = []
    for query in queries {
        let search = SearchQuery(vector: query, sparse: nil, topK: topK, filter: .everything)
        let start = ContinuousClock.now
        let results = ExactSearch.search(state.namespaces[""], query: search, metric: metric)
        samples.append(milliseconds(ContinuousClock.now - start))
        lines.append(results.map(\.id).joined(separator: " "))
    }
    report("conifer exact \(metric.rawValue) top-\(topK)", samples)
    if let resultsPath = option("--results") {
        try lines.joined(separator: "\n").write(toFile: resultsPath, atomically: true, encoding: .utf8)
    }
} else {
    let arguments = CommandLine.arguments
    let count = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
    let queries = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
    let dimension = 768

    func randomVector() -> [Float] {
        var generator = SystemRandomNumberGenerator()
        return (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    var state = IndexState()
    let records = (0..<count).map { i in
        VectorRecord(id: String(format: "v%07d", i), values: randomVector(), metadata: ["category": .number(Double(i % 10))])
    }
    let loadStart = ContinuousClock.now
    state.apply(.upsert(namespace: "", records: records))
    print("built \(count) x \(dimension) in \(ContinuousClock.now - loadStart)")

    for (label, filter) in [("no filter", MetadataFilter.everything), ("filter 10%", .field("category", .equal(.number(3))))] {
        for metric in [Metric.cosine, .dotproduct, .euclidean] {
            var samples: [Double] = []
            for _ in 0..<queries {
                let query = SearchQuery(vector: randomVector(), sparse: nil, topK: 10, filter: filter)
                let start = ContinuousClock.now
                let results = ExactSearch.search(state.namespaces[""], query: query, metric: metric)
                samples.append(milliseconds(ContinuousClock.now - start))
                precondition(results.count == 10)
            }
            report("\(metric.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(label.padding(toLength: 10, withPad: " ", startingAt: 0))", samples)
        }
    }
}
