// The search engine without HTTP or JSON, for benchmarks/search.py (which runs hnswlib, faiss and usearch
// on the same files in the same run). Release build:
//
//   conifer-bench --base F --queries F --dimension D [--metric cosine] [--topk 10] [--m 16]
//                 [--ef-construction 200] [--ef 10,20,40,80] [--threads 1] [--encoding float32|int8] [--passes 1] [--results-dir DIR] [--filtered]
//   conifer-bench --sparse RECORDS [--queries-count 1000] [--topk 10]
//
// F are files of little-endian float32 rows. Builds one namespace (its graph linked on `--threads` threads), then answers every query
// once per `ef` (one query per call, one thread) and prints one JSON object per line: the build (seconds,
// resident bytes the engine added) and, for each ef, queries/s, p50 and p99. The ids found for each query
// are written to DIR/conifer-ef<ef>.txt (one line of row numbers per query) for the caller to score.
//
// `--filtered` instead gives row i the metadata `bucket = i % 1000` and, for filters matching 50 %, 10 %,
// 1 % and 0.1 % of the rows, compares the planner (default efSearch) with an exact scan of just the
// matching rows: queries/s of both and the planner's recall@k against the scan.
//
// `--sparse N` builds N random sparse records (a Zipf-like vocabulary of 30,000 dimensions, IDF-like
// weights, about 120 values each) and compares the inverted index with scoring every record, on short sparse queries.
import ConiferCore
import ConiferIndex
import ConiferStorage
import Foundation
import Logging

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

/// Resident memory of this process (Linux /proc/self/status): all of it, and the part that is file pages
/// mapped in (int8 row files: page cache the kernel may take back, unlike the rest).
func residentBytes() -> (total: Int, file: Int) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func kilobytes(_ field: String) -> Int {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
    }
    return (kilobytes("VmRSS"), kilobytes("RssFile"))
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func emit(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), let line = String(data: data, encoding: .utf8) {
        print(line)
    }
}

let metric = Metric(rawValue: option("--metric") ?? "cosine") ?? .cosine
let topK = option("--topk").flatMap(Int.init) ?? 10
let buildThreads = option("--threads").flatMap(Int.init) ?? 1
/// int8: the graph walks int8 codes and answers are rescored on the float rows, kept as `conifer serve`
/// keeps them: in an encrypted memory-mapped file (in `--rows-dir`, default the system's temporary directory).
let encoding = option("--encoding").flatMap(VectorEncoding.init(rawValue:)) ?? .float32
let rowsDirectory = URL(fileURLWithPath: option("--rows-dir") ?? NSTemporaryDirectory())
let parameters = HNSWParameters(
    m: option("--m").flatMap(Int.init) ?? 16, efConstruction: option("--ef-construction").flatMap(Int.init) ?? 200
)

/// Upserts rows in batches of 1,000 into namespace "" and builds its graph; returns the seconds each took.
func build(_ state: inout IndexState, count: Int, record: (Int) -> VectorRecord) -> (load: Double, graph: Double) {
    let start = ContinuousClock.now
    for first in stride(from: 0, to: count, by: 1000) {
        state.apply(.upsert(namespace: "", records: (first..<min(first + 1000, count)).map(record)))
    }
    let loaded = ContinuousClock.now
    while state.view.buildGraphs(limit: .max) {}
    return (seconds(loaded - start), seconds(ContinuousClock.now - loaded))
}

/// Passes over the queries per measurement (`--passes`, default 1): the fastest pass is reported, so a pass
/// slowed by another process on a shared machine does not decide the figure.
let passes = max(1, option("--passes").flatMap(Int.init) ?? 1)

/// Runs `search` once per query, one at a time, `passes` times; returns the fastest pass's queries/s, p50 and
/// p99 (seconds) and its answers.
func timed<Answer>(_ queries: Int, _ search: (Int) -> Answer) -> (qps: Double, p50: Double, p99: Double, answers: [Answer]) {
    var best: (qps: Double, p50: Double, p99: Double, answers: [Answer])?
    for _ in 0..<passes {
        var latencies: [Double] = []
        var answers: [Answer] = []
        latencies.reserveCapacity(queries)
        answers.reserveCapacity(queries)
        for query in 0..<queries {
            let start = ContinuousClock.now
            answers.append(search(query))
            latencies.append(seconds(ContinuousClock.now - start))
        }
        let qps = Double(queries) / latencies.reduce(0, +)
        latencies.sort()
        if qps > best?.qps ?? 0 {
            best = (qps, latencies[latencies.count / 2], latencies[min(latencies.count - 1, latencies.count * 99 / 100)], answers)
        }
    }
    return best!
}

/// Dense search over base rows read from files: the sweep of ef, or (`--filtered`) filtered search.
func runDense(basePath: String, queryPath: String, dimension: Int) throws {
    var base = try readRows(basePath, dimension: dimension)
    let queries = try readRows(queryPath, dimension: dimension)
    let filtered = CommandLine.arguments.contains("--filtered")
    let residentBefore = residentBytes()
    var state = IndexState(
        settings: EngineSettings(metric: metric, hnsw: parameters, graphThreshold: filtered ? 10_000 : 0, buildThreads: buildThreads, encoding: encoding) {
            MappedVectorRows.make(directory: rowsDirectory, dimension: $0, logger: Logger(label: "conifer-bench"))
        }
    )
    let (load, graph) = build(&state, count: base.count) { row in
        VectorRecord(id: String(row), values: base[row], metadata: filtered ? ["bucket": .number(Double(row % 1000))] : [:])
    }
    // Measured while the input rows are still held (they were counted in `residentBefore` too).
    let residentAfter = residentBytes()
    emit([
        "engine": "conifer", "event": filtered ? "filtered-build" : "build", "threads": buildThreads, "encoding": encoding.rawValue, "vectors": state.view.totalRecordCount, "dimension": dimension,
        "load_seconds": load, "graph_seconds": graph, "build_seconds": load + graph, "resident_bytes": residentAfter.total - residentBefore.total,
        "resident_file_bytes": residentAfter.file - residentBefore.file,
    ])
    guard let namespace = state.view.snapshot("") else { exit(1) }
    if filtered {
        filteredSearch(namespace, base: base, queries: queries)
        return
    }
    base = []
    let efs = (option("--ef") ?? "10,20,40,80,160").split(separator: ",").compactMap { Int($0) }
    for ef in efs {
        let run = timed(queries.count) { query in
            namespace.search(SearchQuery(vector: queries[query], sparse: nil, topK: topK, filter: .everything, ef: ef), metric: metric).map(\.id)
        }
        if let directory = option("--results-dir") {
            let lines = run.answers.map { $0.joined(separator: " ") }
            try lines.joined(separator: "\n").write(toFile: "\(directory)/conifer-ef\(ef).txt", atomically: true, encoding: .utf8)
        }
        emit(["engine": "conifer", "event": "search", "encoding": encoding.rawValue, "ef": ef, "qps": run.qps, "p50_ms": run.p50 * 1000, "p99_ms": run.p99 * 1000])
    }
}

/// The planner's filtered answers against an exact scan of the matching rows (cosine or dot product).
func filteredSearch(_ namespace: NamespaceSnapshot, base: [[Float]], queries: [[Float]]) {
    let norms = base.map(DistanceKernels.norm)
    for buckets in [500, 100, 10, 1] {
        let matching = base.indices.filter { $0 % 1000 < buckets }
        let scan = timed(queries.count) { query in
            var top = TopK(k: topK, lowerIsBetter: false)
            let q = queries[query]
            let queryNorm = metric == .cosine ? DistanceKernels.norm(q) : 1
            for row in matching {
                let score = DistanceKernels.dot(q, base[row]) / (metric == .cosine ? max(queryNorm * norms[row], .leastNormalMagnitude) : 1)
                if top.admits(score: score) { top.insert(ScoredID(id: String(row), score: score, slot: row)) }
            }
            return Set(top.sorted().map(\.id))
        }
        let filter = MetadataFilter.field("bucket", .lessThan(Double(buckets)))
        let planner = timed(queries.count) { query in
            namespace.search(SearchQuery(vector: queries[query], sparse: nil, topK: topK, filter: filter), metric: metric).map(\.id)
        }
        let found = zip(planner.answers, scan.answers).reduce(0) { $0 + $1.0.filter($1.1.contains).count }
        let expected = scan.answers.reduce(0) { $0 + $1.count }
        emit([
            "engine": "conifer", "event": "filtered", "selectivity": Double(buckets) / 1000, "matching": matching.count,
            "recall": Double(found) / Double(max(expected, 1)), "qps": planner.qps, "p50_ms": planner.p50 * 1000, "p99_ms": planner.p99 * 1000,
            "scan_qps": scan.qps,
        ])
    }
}

/// Random sparse records and queries: the inverted index against scoring every record.
func runSparse(records count: Int) {
    var random: UInt64 = 0x5EED_5BA5
    func next() -> UInt64 {
        // SplitMix64: the same stream on every run.
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    func sparse(terms: Int) -> SparseVector {
        var pairs: [UInt32: Float] = [:]
        for _ in 0..<terms {
            // Zipf-like: dimension ⌊30,000 · u³⌋ makes low dimensions common, as for words; values weighted
            // like IDF (common dimensions carry small values), as BM25 and SPLADE weights are.
            let u = Double(next() % 1_000_000) / 1_000_000
            let dimension = UInt32(u * u * u * 30_000)
            pairs[dimension] = Float((0.2 + Double(next() % 1000) / 1000) * log(1 + 30_000 / Double(dimension + 1)))
        }
        let sorted = pairs.sorted { $0.key < $1.key }
        return SparseVector(indices: sorted.map(\.key), values: sorted.map(\.value))
    }
    var state = IndexState(settings: EngineSettings(metric: .dotproduct))
    let (load, _) = build(&state, count: count) { row in VectorRecord(id: String(row), values: [], sparse: sparse(terms: 160)) }
    let queryCount = option("--queries-count").flatMap(Int.init) ?? 1000
    let queries = (0..<queryCount).map { _ in SearchQuery(vector: nil, sparse: sparse(terms: 24), topK: topK, filter: .everything) }
    guard let namespace = state.view.snapshot("") else { exit(1) }
    let index = timed(queries.count) { namespace.search(queries[$0], metric: .dotproduct) }
    let scan = timed(queries.count) { ExactSearch.search(namespace, query: queries[$0], metric: .dotproduct) }
    emit([
        "engine": "conifer", "event": "sparse", "records": count, "load_seconds": load, "qps": index.qps, "p50_ms": index.p50 * 1000,
        "scan_qps": scan.qps, "scan_p50_ms": scan.p50 * 1000, "identical": index.answers == scan.answers,
    ])
}

if let reason = HostCPU.unsupportedReason {
    print(reason)
    exit(1)
}
if let records = option("--sparse").flatMap(Int.init) {
    runSparse(records: records)
} else if let basePath = option("--base"), let queryPath = option("--queries"), let dimension = option("--dimension").flatMap(Int.init) {
    try runDense(basePath: basePath, queryPath: queryPath, dimension: dimension)
} else {
    print("usage: conifer-bench --base F --queries F --dimension D [--metric cosine] [--topk 10] [--m 16] [--ef-construction 200] [--ef 10,20,40] [--results-dir DIR] [--filtered]")
    print("       conifer-bench --sparse RECORDS [--queries-count 1000] [--topk 10]")
    exit(2)
}
