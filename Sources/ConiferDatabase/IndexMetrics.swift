import ConiferCore
import Foundation
import Prometheus
import Synchronization

/// Per-index time series in Pinecone's names (docs.pinecone.io, "Monitor performance"), kept in one Prometheus
/// registry per index so a scrape target serves exactly one index. Labels: `index_name`, `cloud`, `region`,
/// `capacity_mode`. Counters count every request that reached the index (failed ones too) and the
/// milliseconds spent in them; the gauges are set from the store when the index is scraped. Counters start
/// at zero with the process, as Prometheus expects of counters.
public final class IndexMetrics: Sendable {
    /// The operations counted, as their series name them.
    public enum Operation: String, CaseIterable, Sendable {
        case upsert, query, fetch, update, delete
    }

    final class Series: Sendable {
        let registry = PrometheusCollectorRegistry()
        let records: Gauge
        let storageBytes: Gauge
        let requests: [Operation: Counter]
        let milliseconds: [Operation: Counter]
        let readUnits: Counter
        let writeUnits: Counter
        /// The same requests and units by minute and hour, for the console's metrics tab.
        let history = MetricsHistory()

        init(_ definition: IndexDefinition) {
            let labels = IndexMetrics.labels(definition)
            func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
                MetricNameDescriptor(namespace: "pinecone", subsystem: "db", metricName: metric, unitName: unit, helpText: help)
            }
            records = registry.makeGauge(descriptor: name("record", "total", "Records stored in the index."), labels: labels)
            storageBytes = registry.makeGauge(descriptor: name("storage_size", "bytes", "Bytes the index's files take on disk."), labels: labels)
            readUnits = registry.makeCounter(descriptor: name("read_unit", "total", "Read units used by the index's requests."), labels: labels)
            writeUnits = registry.makeCounter(descriptor: name("write_unit", "total", "Write units used by the index's requests."), labels: labels)
            var requests: [Operation: Counter] = [:]
            var milliseconds: [Operation: Counter] = [:]
            for operation in Operation.allCases {
                let op = "op_\(operation.rawValue)"
                requests[operation] = registry.makeCounter(descriptor: name(op, "total", "\(operation.rawValue) requests to the index."), labels: labels)
                milliseconds[operation] = registry.makeCounter(
                    descriptor: name("\(op)_duration", "total", "Milliseconds spent serving \(operation.rawValue) requests to the index."), labels: labels
                )
            }
            self.requests = requests
            self.milliseconds = milliseconds
        }
    }

    private let series = Mutex<[UUID: Series]>([:])
    /// Off, requests are neither counted nor charged (`conifer serve --metrics off`); the gauges still answer.
    let enabled: Bool

    public init(enabled: Bool = true) {
        self.enabled = enabled
    }

    static func labels(_ definition: IndexDefinition) -> [(String, String)] {
        let (mode, cloud, region): (String, String, String) = switch definition.deployment {
        case .serverless(let cloud, let region): ("serverless", cloud, region)
        case .pod(let environment, _, _, _, _): ("pod", "", environment)
        case .byoc(let environment): ("byoc", "", environment)
        }
        return [("index_name", definition.name), ("cloud", cloud), ("region", region), ("capacity_mode", mode)]
    }

    func series(for definition: IndexDefinition) -> Series {
        series.withLock { all in
            if let existing = all[definition.id] { return existing }
            let made = Series(definition)
            all[definition.id] = made
            return made
        }
    }

    /// Counts one request of `operation` on the index, begun at `started`, and the time it took.
    public func record(_ operation: Operation, for definition: IndexDefinition, since started: ContinuousClock.Instant) {
        guard enabled else { return }
        let duration = ContinuousClock.now - started
        let series = series(for: definition)
        series.requests[operation]?.increment()
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        series.milliseconds[operation]?.increment(by: milliseconds)
        series.history.record(operation, milliseconds: milliseconds, at: Date())
    }

    /// Adds the read and write units of a request (see `Units`).
    public func charge(read: Double = 0, write: Double = 0, for definition: IndexDefinition) {
        guard enabled else { return }
        let series = series(for: definition)
        if read > 0 { series.readUnits.increment(by: read) }
        if write > 0 { series.writeUnits.increment(by: write) }
        series.history.charge(read: read, write: write, at: Date())
    }

    /// Notes the index's record count now, for its history.
    public func observe(records: Int, for definition: IndexDefinition) {
        guard enabled else { return }
        series(for: definition).history.observe(records: records, at: Date())
    }

    /// The index's requests and units by minute and hour since the process started (empty with `--metrics off`).
    public func history(for definition: IndexDefinition) -> MetricsHistory {
        series(for: definition).history
    }

    /// The index's series in Prometheus's text format, with the gauges set to `records` and `storageBytes`.
    public func exposition(for definition: IndexDefinition, records: Int, storageBytes: Int) -> [UInt8] {
        let series = series(for: definition)
        series.records.set(Int64(records))
        series.storageBytes.set(Int64(storageBytes))
        return series.registry.emitToBuffer()
    }

    /// Forgets a deleted index's series.
    public func remove(_ indexID: UUID) {
        _ = series.withLock { $0.removeValue(forKey: indexID) }
    }
}
