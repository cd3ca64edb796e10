import ConiferAccess
import ConiferCore
import ConiferDatabase
import ConiferStorage
import Foundation
import Logging
import ServiceLifecycle

/// Folds write logs into segments in the background, every couple of seconds, until graceful shutdown; first
/// renews the data keys whose lease has ended (closing indexes whose customer-managed key was revoked).
struct CompactionService: Service {
    let registry: StoreRegistry
    var interval: Duration = .seconds(2)

    func run() async throws {
        await repeatUntilShutdown(every: interval) {
            await registry.renewKeys(pass: .system(.compaction))
            await registry.compactWhereNeeded(pass: .system(.compaction))
        }
    }
}

/// Permanently removes the files of deleted indexes once the purge window has passed since their deletion
/// (their data keys were destroyed at deletion), and empties the catalog's write-ahead log, so deleted
/// catalog rows leave no copy in it. Checks every minute, or more often for a short window.
struct PurgeService: Service {
    let registry: StoreRegistry
    /// The catalog's database, whose write-ahead log is emptied (none in tests of the purge alone).
    let catalog: SQLiteCatalog?
    let window: Duration
    let logger: Logger
    /// Told of every index purged for good (the audit log, with the system actor).
    var observer: any ActionObserver = NoActionObserver()

    func run() async throws {
        let interval = min(Duration.seconds(60), max(.seconds(1), window / 4))
        while !Task.isShuttingDownGracefully {
            await purge()
            if let catalog {
                do {
                    try await catalog.checkpoint()
                } catch {
                    logger.warning("could not checkpoint the catalog's write-ahead log", metadata: ["error": "\(error)"])
                }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}

extension PurgeService {
    /// Removes the files of indexes deleted a window ago and records each purge whose owner is known.
    func purge(now: Date = Date()) async {
        for index in await registry.purgeDeleted(olderThan: window, now: now, pass: .system(.purge)) {
            guard let owner = index.owner else { continue }
            var resource = ["index_id": index.id.lowercasedString]
            if let project = owner.projectID { resource["project_id"] = project.lowercasedString }
            let name = owner.name ?? index.id.lowercasedString
            do {
                try await observer.observe(ActionOutcome(
                    actor: .system(.purge), action: "purge index", kind: .purgeIndex, resource: resource, result: .succeeded, organizationID: owner.organizationID,
                    details: ActionDetails(resourceID: .string(name), resourceName: owner.name)
                ))
            } catch {
                logger.error("a purge was not recorded", metadata: ["index": "\(index.id)", "error": "\(error)"])
            }
        }
    }
}

/// Writes the units metered since the last flush to the catalog's usage ledger every `interval` (ten seconds unless
/// configured; the server flushes once more after it stops serving).
struct UsageFlushService: Service {
    let usage: UsageMeter
    let logger: Logger
    var interval: Duration

    func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                try await usage.flush()
            } catch {
                logger.warning("could not write metered units to the usage ledger; kept for the next flush", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Samples the storage of indexes, backups and collections for the usage ledger every `interval` (five minutes),
/// each sample standing for the interval before it.
struct StorageSampleService: Service {
    let sampler: StorageSampler
    let logger: Logger
    var interval: Duration = .seconds(300)

    func run() async throws {
        let hours = Double(interval.components.seconds) / 3600
        await repeatUntilShutdown(every: interval) {
            do {
                try await sampler.sample(hours: hours)
            } catch {
                logger.warning("could not sample storage for the usage ledger", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `work` every `interval` (the first time after one interval) until graceful shutdown begins.
func repeatUntilShutdown(every interval: Duration, _ work: () async -> Void) async {
    while !Task.isShuttingDownGracefully {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        } catch {
            return
        }
        await work()
    }
}

/// Takes the scheduled backups when they fall due and deletes those past their retention (`BackupService.runSchedules`).
struct BackupScheduleService: Service {
    let backups: BackupService

    func run() async throws {
        await repeatUntilShutdown(every: backups.clock.checkEvery) { await backups.runSchedules() }
    }
}
