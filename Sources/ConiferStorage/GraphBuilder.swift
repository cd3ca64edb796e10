import ConiferIndex
import Foundation
import Synchronization

/// Builds the HNSW graphs of one index's namespaces on a thread of its own, behind the writes.
///
/// A write is acknowledged once it is durable and applied; its records are searchable at once (the planner
/// scans slots the graph has not reached) and join the graph here, a batch at a time, round-robin over the
/// namespaces so a large load into one does not starve another. The thread exists only while there is
/// work: `wake` starts it, and it ends when a pass finds nothing to add.
final class GraphBuilder: Sendable {
    /// Records added to one namespace's graph before moving to the next.
    static let batch = 256

    private struct Status {
        var running = false
        /// Woken while running: look again before stopping.
        var woken = false
    }

    private let status = Mutex(Status())
    /// The index as of now, or nil once it is closed.
    private let current: @Sendable () -> IndexView?

    init(current: @escaping @Sendable () -> IndexView?) {
        self.current = current
    }

    /// There may be new records to add.
    func wake() {
        let start = status.withLock { status in
            status.woken = true
            guard !status.running else { return false }
            status.running = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in run() }
        thread.name = "conifer-graph"
        thread.start()
    }

    private func run() {
        while true {
            status.withLock { $0.woken = false }
            var more = true
            while more, let view = current() {
                more = view.buildGraphs(limit: Self.batch)
            }
            let done = status.withLock { status in
                if status.woken { return false }
                status.running = false
                return true
            }
            if done { return }
        }
    }
}
