import Foundation

/// Runs namespace scans (search, filter evaluation) on threads of their own instead of Swift's
/// cooperative pool.
///
/// The cooperative pool has one thread per core and serves every request. A scan that takes a core for
/// a long time there (a large namespace, the largest allowed filter) would leave `/health` and every
/// other request waiting behind it; a fixed-width pool would queue a small query behind large ones. A
/// thread per scan lets the kernel share the cores among all of them, so a small request is slowed in
/// proportion to the load, never queued behind it. The connection cap bounds how many run at once;
/// starting a thread costs tens of microseconds, small beside any scan.
public struct ScanThreads: Sendable {
    public init() {}

    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = "conifer-scan"
            thread.start()
        }
    }
}
