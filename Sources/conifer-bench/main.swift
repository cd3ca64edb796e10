// Micro-benchmark of the exact-search engine, without HTTP or JSON: prints query latency over N random
// 768-d vectors. Run in release: swift run -c release conifer-bench [vectors] [queries]
import ConiferCore
import ConiferIndex
import Foundation

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
            let elapsed = ContinuousClock.now - start
            precondition(results.count == 10)
            samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        samples.sort()
        let p50 = samples[samples.count / 2]
        let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
        print("\(metric.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(label.padding(toLength: 10, withPad: " ", startingAt: 0)): p50 \(String(format: "%.2f", p50)) ms  p99 \(String(format: "%.2f", p99)) ms")
    }
}
