import ConiferAccess
import ConiferCore
import ConiferStorage
import Foundation
import Synchronization

/// Meters what each resource uses of each SKU per hour (read and write units per index, sampled storage,
/// restores), for usage reports, spend alerts and the plans' monthly unit quotas.
///
/// Charges add to hourly totals in memory, which `flush()` adds to the catalog's usage ledger (the server
/// flushes every few seconds and once more when it stops; a crash loses the units since the last flush).
/// Each organization's units in the current calendar month (UTC) are kept in memory too: loaded from the
/// ledger when the meter is made, then added to with every charge, so checking a monthly quota reads no
/// database. One server uses a data directory at a time (`DataDirectoryLock`), so these totals are the
/// whole month's.
public final class UsageMeter: Sendable {
    struct Key: Hashable {
        let resourceID: UUID
        let sku: UsageSKU
        let hour: Int64
    }

    struct State {
        var pending: [Key: UsageEntry] = [:]
        /// The month `monthToDate` counts: from `monthStart` up to `monthEnd` (seconds since 1970).
        var monthStart: Int64
        var monthEnd: Int64
        var monthToDate: [UUID: UnitTotals]
    }

    let catalog: any Catalog
    let now: @Sendable () -> Date
    private let state: Mutex<State>

    private init(catalog: any Catalog, now: @escaping @Sendable () -> Date, month: DateInterval, totals: [UUID: UnitTotals]) {
        self.catalog = catalog
        self.now = now
        self.state = Mutex(State(monthStart: Self.seconds(month.start), monthEnd: Self.seconds(month.end), monthToDate: totals))
    }

    /// A meter over the catalog's ledger, with the current month's units read from it. `now` is the clock
    /// (tests move it).
    public static func load(catalog: any Catalog, now: @escaping @Sendable () -> Date = { Date() }) async throws -> UsageMeter {
        let month = monthInterval(containing: now())
        return UsageMeter(catalog: catalog, now: now, month: month, totals: try await catalog.usageTotals(since: month.start))
    }

    /// Adds units used on an index of the organization, to the current hour and month.
    public func charge(read: Double, write: Double, on definition: IndexDefinition, organization: UUID) {
        let time = Self.seconds(now())
        state.withLock { state in
            Self.roll(&state, to: time)
            state.monthToDate[organization, default: UnitTotals()].read += read
            state.monthToDate[organization, default: UnitTotals()].write += write
            for (sku, quantity) in [(UsageSKU.readUnits, read), (.writeUnits, write)] where quantity > 0 {
                Self.add(&state, sku: sku, quantity: quantity, at: time, index: definition, organization: organization)
            }
        }
    }

    /// Adds a quantity of another SKU (storage, a restore) used by a resource of the organization, to the current hour.
    public func record(_ sku: UsageSKU, quantity: Double, resource: UsageEntry) {
        guard quantity > 0 else { return }
        let time = Self.seconds(now())
        let key = Key(resourceID: resource.resourceID, sku: sku, hour: time - time % 3600)
        state.withLock { state in
            if state.pending[key] == nil {
                var entry = resource
                entry.sku = sku
                entry.hour = Date(timeIntervalSince1970: TimeInterval(key.hour))
                entry.quantity = 0
                state.pending[key] = entry
            }
            state.pending[key]?.quantity += quantity
        }
    }

    private static func add(_ state: inout State, sku: UsageSKU, quantity: Double, at time: Int64, index: IndexDefinition, organization: UUID) {
        let key = Key(resourceID: index.id, sku: sku, hour: time - time % 3600)
        if state.pending[key] == nil {
            state.pending[key] = UsageEntry(
                organizationID: organization, projectID: index.projectID, resourceID: index.id, resourceName: index.name, region: index.deployment.region,
                sku: sku, hour: Date(timeIntervalSince1970: TimeInterval(key.hour)), quantity: 0
            )
        }
        state.pending[key]?.quantity += quantity
    }

    /// The organization's units in the current calendar month (UTC).
    public func monthToDate(organization: UUID) -> UnitTotals {
        let time = Self.seconds(now())
        return state.withLock { state in
            Self.roll(&state, to: time)
            return state.monthToDate[organization] ?? UnitTotals()
        }
    }

    /// Adds the units charged since the last flush to the ledger. What could not be written stays pending.
    public func flush() async throws {
        let batch = state.withLock { state in
            defer { state.pending = [:] }
            return state.pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await catalog.recordUsage(Array(batch.values))
        } catch {
            state.withLock { state in
                for (key, entry) in batch {
                    if state.pending[key] == nil {
                        state.pending[key] = entry
                    } else {
                        state.pending[key]?.quantity += entry.quantity
                    }
                }
            }
            throw error
        }
    }

    /// Starts a new month's totals once the clock has left the month they count.
    private static func roll(_ state: inout State, to time: Int64) {
        guard time < state.monthStart || time >= state.monthEnd else { return }
        let month = monthInterval(containing: Date(timeIntervalSince1970: TimeInterval(time)))
        state.monthStart = seconds(month.start)
        state.monthEnd = seconds(month.end)
        state.monthToDate = [:]
    }

    static func monthInterval(containing date: Date) -> DateInterval {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.dateInterval(of: .month, for: date)!
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}

/// Meters storage by sampling: each sample adds every index's size on disk, and every backup's and collection's
/// recorded size, times the hours the sample stands for (the time since the previous one, as the server takes
/// them: every five minutes), in GB-hours (1 GB = 10^9 bytes). Time the server is down is not metered.
public struct StorageSampler: Sendable {
    let catalog: any Catalog
    let registry: StoreRegistry
    let usage: UsageMeter

    public init(catalog: any Catalog, registry: StoreRegistry, usage: UsageMeter) {
        self.catalog = catalog
        self.registry = registry
        self.usage = usage
    }

    public func sample(hours: Double) async throws {
        // On a shared catalog each server meters what it holds, so nothing is counted twice.
        for resource in try await catalog.storedResources() where resource.home == registry.home {
            let bytes: Int
            if let size = resource.sizeBytes {
                bytes = size
            } else {
                bytes = await registry.diskUsage(of: resource.entry.resourceID)
            }
            usage.record(resource.entry.sku, quantity: Double(bytes) / 1e9 * hours, resource: resource.entry)
        }
    }
}
