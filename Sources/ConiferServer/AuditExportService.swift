import ConiferAudit
import Foundation
import ServiceLifecycle

/// Runs the audit exporter about every second (cutting due batches, delivering pending ones with backoff),
/// records once a minute the outbox rows no call settled within `settleWindow` (a failed settle), and deletes
/// events older than the retention period once an hour, until graceful shutdown.
struct AuditExportService: Service {
    let exporter: AuditExporter
    let spool: any AuditSpool
    let retentionDays: Int
    var interval: Duration = .seconds(1)
    /// Longer than any call takes from its change to its answer (a create from a large collection writes its
    /// records before answering): a row older than this was not settled and will not be.
    static let settleWindow: TimeInterval = 3600

    func run() async throws {
        var lastPurge = Date.distantPast
        var lastDrain = Date()
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            if lastDrain.timeIntervalSinceNow < -60 {
                lastDrain = Date()
                _ = try? await spool.drainOutbox(stagedBefore: Date().addingTimeInterval(-Self.settleWindow))
            }
            await exporter.tick()
            if lastPurge.timeIntervalSinceNow < -3600 {
                lastPurge = Date()
                _ = try? await spool.purgeEvents(before: Date().addingTimeInterval(-Double(retentionDays) * 86_400))
            }
        }
    }
}
