// The search engine without HTTP or JSON, for benchmarks/search.py (which runs hnswlib, faiss and usearch
// on the same files in the same run). Release build:
//
//   conifer-bench --base F --queries F --dimension D [--metric cosine] [--topk 10] [--m 16]
//                 [--ef-construction 200] [--ef 10,20,40,80] [--results-dir DIR]
//
// F are files of little-endian float32 rows. Builds one namespace on one thread, then answers every query
// once per `ef` (one query per call, one thread) and prints one JSON object per line: the build (seconds,
// resident bytes the engine added) and, for each ef, queries/s, p50 and p99. The ids found for each query
// are written to DIR/conifer-ef<ef>.txt (one line of row numbers per query) for the caller to score.
import ConiferCore
import ConiferIndex
import Foundation

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func readRows(_ path: String, dimension: Int) throws -> [[Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<$0 + dimension]) }
}

/// Resident set size of this process (Linux /proc).
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func emit(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), let line = String(data: data, encoding: .utf8) {
        print(line)
    }
}

guard let basePath = option("--base"), let queryPath = option("--queries"), let dimension = option("--dimension").flatMap(Int.init) else {
    print("usage: conifer-bench --base F --queries F --dimension D [--metric cosine] [--topk 10] [--m 16] [--ef-construction 200] [--ef 10,20,40] [--results-dir DIR]")
    exit(2)
}
let metric = Metric(rawValue: option("--metric") ?? "cosine") ?? .cosine
let topK = option("--topk").flatMap(Int.init) ?? 10
let parameters = HNSWParameters(
    m: option("--m").flatMap(Int.init) ?? 16, efConstruction: option("--ef-construction").flatMap(Int.init) ?? 200
)
let efs = (option("--ef") ?? "10,20,40,80,160").split(separator: ",").compactMap { Int($0) }
let resultsDirectory = option("--results-dir")

var base = try readRows(basePath, dimension: dimension)
let queries = try readRows(queryPath, dimension: dimension)
let residentBefore = residentBytes()
var state = IndexState(settings: EngineSettings(metric: metric, hnsw: parameters, graphThreshold: 0))
let buildStart = ContinuousClock.now
for start in stride(from: 0, to: base.count, by: 1000) {
    let records = (start..<min(start + 1000, base.count)).map { VectorRecord(id: String($0), values: base[$0]) }
    state.apply(.upsert(namespace: "", records: records))
}
let loaded = ContinuousClock.now
while state.view.buildGraphs(limit: .max) {}
let built = ContinuousClock.now
// Measured while the input rows are still held (they were counted in `residentBefore` too).
let residentAfter = residentBytes()
base = []
emit([
    "engine": "conifer", "event": "build", "vectors": state.view.totalRecordCount, "dimension": dimension,
    "load_seconds": seconds(loaded - buildStart), "graph_seconds": seconds(built - loaded), "build_seconds": seconds(built - buildStart),
    "resident_bytes": residentAfter - residentBefore,
])

guard let namespace = state.view.snapshot("") else { exit(1) }
for ef in efs {
    var latencies: [Double] = []
    var lines: [String] = []
    latencies.reserveCapacity(queries.count)
    let began = ContinuousClock.now
    for query in queries {
        let start = ContinuousClock.now
        let results = namespace.search(SearchQuery(vector: query, sparse: nil, topK: topK, filter: .everything, ef: ef), metric: metric)
        latencies.append(seconds(ContinuousClock.now - start))
        lines.append(results.map(\.id).joined(separator: " "))
    }
    let total = seconds(ContinuousClock.now - began)
    latencies.sort()
    if let resultsDirectory {
        try lines.joined(separator: "\n").write(toFile: "\(resultsDirectory)/conifer-ef\(ef).txt", atomically: true, encoding: .utf8)
    }
    emit([
        "engine": "conifer", "event": "search", "ef": ef, "qps": Double(queries.count) / total,
        "p50_ms": latencies[latencies.count / 2] * 1000, "p99_ms": latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000,
    ])
}
