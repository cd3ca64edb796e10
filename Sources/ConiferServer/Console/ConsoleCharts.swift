import ConiferDatabase
import Foundation

/// Line charts as SVG documents, drawn on the server from an index's metrics history: no script, no styles (only
/// presentation attributes, which the strict Content-Security-Policy allows), every text escaped. Pages show them as
/// images of the console's own origin.
enum ConsoleCharts {
    struct Series {
        var name: String
        var color: String
        /// One value per bucket; nil where there is nothing to draw (no requests, so no latency).
        var values: [Double?]
    }

    static let width = 720.0, height = 240.0
    static let left = 64.0, right = 16.0, top = 32.0, bottom = 36.0

    /// The charts of the metrics tab, by the name in their path.
    static let names = ["records", "requests", "latency", "units"]

    /// A chart of the metrics tab, by the name in its path.
    static func chart(_ name: String, _ buckets: [MetricsHistory.Bucket], window: MetricsHistory.Window) -> String? {
        let seconds = window == .hour ? 60.0 : 3600.0
        let colors = ["#0b5d3b", "#1f5fa8", "#a8541f", "#6b3fa0", "#8a1c1c"]
        switch name {
        case "records":
            return svg(title: "Records", series: [Series(name: "records", color: colors[0], values: buckets.map { $0.records.map(Double.init) })], buckets: buckets)
        case "requests":
            let series = IndexMetrics.Operation.allCases.enumerated().map { index, operation in
                Series(name: operation.rawValue, color: colors[index], values: buckets.map { Double($0.requests[operation] ?? 0) / seconds })
            }
            return svg(title: "Requests per second", series: series, buckets: buckets)
        case "latency":
            let series = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")].enumerated().map { index, quantile in
                Series(name: quantile.1, color: colors[index], values: buckets.map { $0.latencies.upperBound(quantile: quantile.0) })
            }
            return svg(title: "Latency, milliseconds (bucket upper bounds)", series: series, buckets: buckets)
        case "units":
            return svg(title: "Read and write units per \(window == .hour ? "minute" : "hour")", series: [
                Series(name: "read units", color: colors[0], values: buckets.map(\.readUnits)),
                Series(name: "write units", color: colors[1], values: buckets.map(\.writeUnits)),
            ], buckets: buckets)
        default: return nil
        }
    }

    static func svg(title: String, series: [Series], buckets: [MetricsHistory.Bucket]) -> String {
        let maximum = niceCeiling(series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let count = max(buckets.count - 1, 1)
        func x(_ index: Int) -> Double { left + plotWidth * Double(index) / Double(count) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value / maximum) }
        var out = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" role="img" font-family="sans-serif" font-size="12">"##
        out += "<title>\(escape(title))</title>"
        out += ##"<rect x="0" y="0" width="\##(Int(width))" height="\##(Int(height))" fill="#ffffff"/>"##
        out += ##"<text x="\##(Int(left))" y="18" font-size="14" font-weight="600" fill="#1b2733">\##(escape(title))</text>"##
        for fraction in [0.0, 0.5, 1.0] {
            let level = y(maximum * fraction)
            out += ##"<line x1="\##(left)" y1="\##(level)" x2="\##(width - right)" y2="\##(level)" stroke="#c9d3dc"/>"##
            out += ##"<text x="\##(left - 6)" y="\##(level + 4)" text-anchor="end" fill="#4a5a6a">\##(escape(format(maximum * fraction)))</text>"##
        }
        if let first = buckets.first, let last = buckets.last {
            out += ##"<text x="\##(left)" y="\##(height - 12)" fill="#4a5a6a">\##(escape(time(first.start)))</text>"##
            out += ##"<text x="\##(width - right)" y="\##(height - 12)" text-anchor="end" fill="#4a5a6a">\##(escape(time(last.start))) UTC</text>"##
        }
        var legendX = width - right
        for item in series.reversed() {
            legendX -= Double(item.name.count) * 7 + 26
            out += ##"<rect x="\##(legendX)" y="8" width="10" height="10" fill="\##(item.color)"/>"##
            out += ##"<text x="\##(legendX + 14)" y="17" fill="#1b2733">\##(escape(item.name))</text>"##
        }
        for item in series {
            // A run of buckets with values is one line; a bucket without one breaks it (a lone point is a dot).
            var run: [(Double, Double)] = []
            func flush() {
                if run.count == 1 {
                    out += ##"<circle cx="\##(run[0].0)" cy="\##(run[0].1)" r="2.5" fill="\##(item.color)"/>"##
                } else if run.count > 1 {
                    let points = run.map { "\(rounded($0.0)),\(rounded($0.1))" }.joined(separator: " ")
                    out += ##"<polyline points="\##(points)" fill="none" stroke="\##(item.color)" stroke-width="2"/>"##
                }
                run = []
            }
            for (index, value) in item.values.enumerated() {
                if let value { run.append((x(index), y(value))) } else { flush() }
            }
            flush()
        }
        return out + "</svg>"
    }

    /// The smallest of 1, 2 or 5 × 10ⁿ at or above `value` (1 for nothing), so the axis reads in round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= value } ?? value
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e6 ? String(Int(value)) : String(format: "%.3g", value)
    }

    private static func rounded(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func time(_ date: Date) -> String {
        String(ConsolePages.date(date).dropFirst(11).prefix(5))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
