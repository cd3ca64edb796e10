// What encryption at rest costs, measured side by side in one run: the same writes, compaction, recovery and
// queries on an index store whose files are sealed (AES-256-GCM under a data key) and on one written in
// plain bytes. Release build:
//
//   conifer-storage-bench [--dimension 768] [--writers 4] [--batch 100] [--rounds 100] [--pairs 5]
//                         [--queries 200] [--directory DIR]
//
// Each pair runs plain then sealed on fresh directories; the figures are medians over the pairs. Namespaces
// get no HNSW graph here (exact search), so that no background build competes with the writes. Prints one
// JSON object per measurement and a summary line with the sealed/plain ratios.
import ConiferCore
import ConiferIndex
import ConiferKeys
import ConiferStorage
import Crypto
import Foundation
import Logging

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func emit(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), let line = String(data: data, encoding: .utf8) {
        print(line)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

let dimension = option("--dimension").flatMap(Int.init) ?? 768
let writers = option("--writers").flatMap(Int.init) ?? 4
let batch = option("--batch").flatMap(Int.init) ?? 100
let rounds = option("--rounds").flatMap(Int.init) ?? 100
let pairs = option("--pairs").flatMap(Int.init) ?? 5
let queryCount = option("--queries").flatMap(Int.init) ?? 200
let base = URL(fileURLWithPath: option("--directory") ?? NSTemporaryDirectory())
let pass = try Principal.apiKey(id: UUID(), roles: [.dataPlaneEditor], projectID: UUID(), organizationID: UUID()).authorize(.dataWrite)
let readPass = try Principal.apiKey(id: UUID(), roles: [.dataPlaneEditor], projectID: UUID(), organizationID: UUID()).authorize(.dataRead)
let logger = Logger(label: "bench")

var generator = SystemRandomNumberGenerator()
/// The same records for both modes: `writers × rounds` batches.
let batches: [[VectorRecord]] = (0..<(writers * rounds)).map { b in
    (0..<batch).map { i in
        VectorRecord(
            id: "r\(b)-\(i)", values: (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) },
            metadata: ["batch": .number(Double(b)), "tag": .string("t\(i % 10)")]
        )
    }
}
let queries: [[Float]] = (0..<queryCount).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) } }

struct Figures {
    var upsertRecordsPerSecond: [Double] = []
    var compactSeconds: [Double] = []
    var recoverSeconds: [Double] = []
    var queriesPerSecond: [Double] = []
}

func run(sealed: Bool) async throws -> (upsert: Double, compact: Double, recover: Double, qps: Double) {
    let directory = base.appendingPathComponent("conifer-storage-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let cipher = sealed ? FileCipher(key: SymmetricKey(size: .bits256)) : .plaintext
    let policy = CompactionPolicy(maxLogFiles: .max, maxLogBytes: .max)
    // No graph: its background build would compete with the writes for the cores, and queries touch no file.
    let settings = EngineSettings(metric: .cosine, graphThreshold: .max)
    let store = try await IndexStore.open(indexID: UUID(), directory: directory, cipher: cipher, settings: settings, policy: policy, logger: logger)
    let clock = ContinuousClock()
    let upsertStart = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<writers {
            group.addTask {
                for round in 0..<rounds {
                    _ = try await store.write(.upsert(namespace: "", records: batches[writer * rounds + round]), pass: pass)
                }
            }
        }
        try await group.waitForAll()
    }
    let upsert = Double(writers * rounds * batch) / seconds(clock.now - upsertStart)
    let compactStart = clock.now
    try await store.compact()
    let compact = seconds(clock.now - compactStart)
    // Recovery reads the segment back (the log is folded).
    let recoverStart = clock.now
    let reopened = try await IndexStore.open(indexID: UUID(), directory: directory, cipher: cipher, settings: settings, policy: policy, logger: logger)
    let recover = seconds(clock.now - recoverStart)
    let reader = try reopened.reader(readPass)
    guard let namespace = reader.namespace("") else { throw ConiferError.notFound("the benchmark's namespace is missing") }
    let queryStart = clock.now
    for query in queries {
        _ = namespace.search(SearchQuery(vector: query, sparse: nil, topK: 10, filter: .all([])), metric: .cosine)
    }
    let qps = Double(queries.count) / seconds(clock.now - queryStart)
    // Both stores go, so every run starts with the same memory.
    await store.close()
    await reopened.close()
    return (upsert, compact, recover, qps)
}

/// The CPU time sealing takes alone, for one batch's worth of write-log bytes handed to a sink that keeps
/// nothing (as the file writer does): what the sealed runs add to each write besides noise (the writes
/// themselves wait mostly for fsync).
func sealingCost() throws -> (megabytesPerSecond: Double, millisecondsPerBatch: Double) {
    let payload = [UInt8](repeating: 0x5a, count: batch * (dimension * 4 + 64))
    let key = SymmetricKey(size: .bits256)
    let clock = ContinuousClock()
    let repeats = 400
    var elapsed = 0.0
    for round in 0..<2 {  // the first round warms up
        let start = clock.now
        for _ in 0..<repeats {
            var writer = SealedFile.Writer(key: key, purpose: .writeLog) { _ in }
            try writer.write(payload)
            try writer.finish()
        }
        if round == 1 { elapsed = seconds(clock.now - start) }
    }
    return (Double(payload.count * repeats) / elapsed / 1e6, elapsed / Double(repeats) * 1000)
}

let sealing = try sealingCost()
emit(["sealing_mb_per_s": sealing.megabytesPerSecond.rounded(), "sealing_ms_per_batch": sealing.millisecondsPerBatch, "batch_bytes": batch * (dimension * 4 + 64)])

var plain = Figures()
var sealed = Figures()
for pair in 0..<pairs {
    for mode in [false, true] {
        let result = try await run(sealed: mode)
        emit([
            "pair": pair, "mode": mode ? "sealed" : "plain", "upsert_records_per_s": result.upsert.rounded(),
            "compact_s": result.compact, "recover_s": result.recover, "queries_per_s": result.qps.rounded(),
        ])
        if mode {
            sealed.upsertRecordsPerSecond.append(result.upsert)
            sealed.compactSeconds.append(result.compact)
            sealed.recoverSeconds.append(result.recover)
            sealed.queriesPerSecond.append(result.qps)
        } else {
            plain.upsertRecordsPerSecond.append(result.upsert)
            plain.compactSeconds.append(result.compact)
            plain.recoverSeconds.append(result.recover)
            plain.queriesPerSecond.append(result.qps)
        }
    }
}
emit([
    "summary": "sealed / plain (medians)", "records": writers * rounds * batch, "dimension": dimension, "writers": writers, "batch": batch,
    "upsert_ratio": median(sealed.upsertRecordsPerSecond) / median(plain.upsertRecordsPerSecond),
    "query_ratio": median(sealed.queriesPerSecond) / median(plain.queriesPerSecond),
    "compact_time_ratio": median(sealed.compactSeconds) / median(plain.compactSeconds),
    "recover_time_ratio": median(sealed.recoverSeconds) / median(plain.recoverSeconds),
    "plain_upsert_records_per_s": median(plain.upsertRecordsPerSecond).rounded(), "sealed_upsert_records_per_s": median(sealed.upsertRecordsPerSecond).rounded(),
    "plain_queries_per_s": median(plain.queriesPerSecond).rounded(), "sealed_queries_per_s": median(sealed.queriesPerSecond).rounded(),
    // Sealing's share of a plain batch's time, from the CPU cost measured alone.
    "sealing_share_of_plain_batch": sealing.millisecondsPerBatch / (1000 * Double(batch) / median(plain.upsertRecordsPerSecond)),
])
