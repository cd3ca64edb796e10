import ConiferAudit
import Foundation
import ServiceLifecycle

/// Runs the audit exporter about every second (cutting due batches, delivering pending ones with backoff)
/// and deletes events older than the retention period once an hour, until graceful shutdown.
struct AuditExportService: Service {
    let exporter: AuditExporter
    let spool: any AuditSpool
    let retentionDays: Int
    var interval: Duration = .seconds(1)

    func run() async throws {
        var lastPurge = Date.distantPast
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await exporter.tick()
            if lastPurge.timeIntervalSinceNow < -3600 {
                lastPurge = Date()
                _ = try? await spool.purgeEvents(before: Date().addingTimeInterval(-Double(retentionDays) * 86_400))
            }
        }
    }
}
