import NIOCore
import NIOPosix

extension ConiferApplication {
    /// Runs Swift concurrency's jobs on the event loops that serve the connections (NIO's singleton group,
    /// which Hummingbird uses), instead of a separate thread pool.
    ///
    /// A request's task then runs on the loop thread that read it, and its answer is written from there: no
    /// hand-off between a loop thread and a pool thread in either direction (each costs a wake-up, ~20-40 µs
    /// of a query's time here). Long work already leaves both: scans run on threads of their own
    /// (`ScanThreads`), the catalog on GRDB's queues. Call once, at the start of `conifer serve`, before the
    /// server exists; the library's tests keep the default pool. Returns false where the runtime does not
    /// allow it (nothing changes then).
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
