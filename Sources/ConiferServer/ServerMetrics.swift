import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import Prometheus
import Synchronization

/// The operator's view of the server (`GET /metrics`, Prometheus text format): HTTP requests by method, route
/// pattern and status with their latency, and the process's CPU, memory, open files and start time. Served
/// only when `CONIFER_METRICS_TOKEN` is set, to callers presenting it as `Authorization: Bearer`; it names
/// routes, never projects, indexes or keys.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let token: String?
    private let cpuSeconds: Gauge
    private let residentBytes: Gauge
    private let openFiles: Gauge
    private let startTime: Gauge
    /// Queries `DataPlaneFastPath` answered (they are in the HTTP series too).
    let fastPathAnswers: Counter
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10)]

    init(token: String?) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "process", metricName: metric, unitName: unit, helpText: help)
        }
        cpuSeconds = registry.makeGauge(descriptor: name("cpu", "seconds_total", "User and system CPU time spent."), labels: [])
        residentBytes = registry.makeGauge(descriptor: name("resident_memory", "bytes", "Resident memory size."), labels: [])
        openFiles = registry.makeGauge(descriptor: name("open", "fds", "Open file descriptors."), labels: [])
        startTime = registry.makeGauge(descriptor: name("start_time", "seconds", "Start time since the Unix epoch."), labels: [])
        startTime.set(Date().timeIntervalSince1970)
        fastPathAnswers = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "conifer", subsystem: "http", metricName: "fast_path_answers", unitName: "total",
                helpText: "Queries answered on the event loop that read them, below the router."
            ),
            labels: []
        )
    }

    /// The series of one method, route and status, made in the registry on first use and kept (the labels come
    /// from fixed sets, so there are few): looking them up in the registry on every request costs more.
    private struct SeriesKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }
    private let series = Mutex<[SeriesKey: (requests: Counter, latency: DurationHistogram)]>([:])

    /// Counts one answered request and its latency.
    func record(method: String, route: String, status: Int, duration: Duration) {
        let key = SeriesKey(method: method, route: route, status: status)
        let (requests, latency) = series.withLock { known in
            if let found = known[key] { return found }
            let made = (
                requests: registry.makeCounter(
                    descriptor: MetricNameDescriptor(namespace: "conifer", subsystem: "http", metricName: "requests", unitName: "total", helpText: "Answered HTTP requests."),
                    labels: [("method", method), ("route", route), ("status", String(status))]
                ),
                latency: registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(
                        namespace: "conifer", subsystem: "http", metricName: "request_duration", unitName: "seconds", helpText: "Time to answer an HTTP request."
                    ),
                    labels: [("method", method), ("route", route)], buckets: Self.buckets
                )
            )
            known[key] = made
            return made
        }
        requests.increment()
        latency.record(duration)
    }

    /// The methods counted by name (any other is `other`).
    static let methods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    /// Everything, with the process gauges read now (Linux `/proc/self`).
    func exposition() -> [UInt8] {
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // Fields after the command name: state is field 3; utime 14, stime 15, rss 24 (1-based, whole line).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            if fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]), let pages = Double(fields[21]) {
                cpuSeconds.set((user + system) / ticks)
                residentBytes.set(pages * Double(sysconf(Int32(_SC_PAGESIZE))))
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFiles.set(Double(descriptors.count))
        }
        return registry.emitToBuffer()
    }

    /// Whether `header` carries the operator token (compared in constant time).
    func admits(_ header: String?) -> Bool {
        guard let token, let header, header.hasPrefix("Bearer ") else { return false }
        return APIKeySecret.constantTimeEquals(APIKeySecret.hash(String(header.dropFirst(7))), APIKeySecret.hash(token))
    }
}

/// Records every request's method, matched route pattern (`unmatched` when none), final status and latency.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        // Errors are answers by now: `ErrorMiddleware` runs inside this one.
        let response = try await next(request, context)
        // Labels from a fixed set only (known methods, route patterns), so no client can grow the series.
        let method = ServerMetrics.methods.contains(request.method) ? request.method.rawValue : "other"
        metrics.record(method: method, route: context.endpointPath ?? "unmatched", status: Int(response.status.code), duration: .now - started)
        return response
    }
}
