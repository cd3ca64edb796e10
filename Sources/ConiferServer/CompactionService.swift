import ConiferStorage
import ServiceLifecycle

/// Folds write logs into segments in the background, every couple of seconds, until graceful shutdown.
struct CompactionService: Service {
    let registry: StoreRegistry
    var interval: Duration = .seconds(2)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            await registry.compactWhereNeeded(pass: .system(.compaction))
        }
    }
}
