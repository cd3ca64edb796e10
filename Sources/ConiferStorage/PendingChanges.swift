import ConiferCore
import ConiferIndex

/// The changes of a group of writes that are resolved but not yet durable, layered over the committed
/// state so that each write in the group sees the ones before it (update after upsert, delete by filter
/// after update, …) without copying the committed state.
struct PendingChanges {
    enum Change {
        case put(VectorRecord)
        case removed
    }

    private(set) var changes: [String: [String: Change]] = [:]
    private(set) var cleared: Set<String> = []
    private(set) var created: Set<String> = []

    func record(namespace: String, id: String, base: IndexView) -> VectorRecord? {
        switch changes[namespace]?[id] {
        case .put(let record): return record
        case .removed: return nil
        case nil: return cleared.contains(namespace) ? nil : base.record(namespace: namespace, id: id)
        }
    }

    /// Records of a namespace matching a filter, in id order.
    func matching(namespace: String, filter: MetadataFilter, base: IndexView) -> [VectorRecord] {
        let local = changes[namespace] ?? [:]
        var result: [VectorRecord] = []
        if !cleared.contains(namespace), let committed = base.snapshot(namespace) {
            result = committed.records(matching: filter).filter { local[$0.id] == nil }
        }
        for case .put(let record) in local.values where filter.matches(record.metadata) {
            result.append(record)
        }
        return result.sorted { $0.id < $1.id }
    }

    func namespaceExists(_ namespace: String, base: IndexView) -> Bool {
        if created.contains(namespace) { return true }
        if let local = changes[namespace], local.values.contains(where: { if case .put = $0 { true } else { false } }) { return true }
        return !cleared.contains(namespace) && base.snapshot(namespace) != nil
    }

    /// Namespaces the group has written to or created (at most this many are new).
    var namespacesTouched: Int { changes.count + created.count }

    /// How many namespaces exist with the group's changes applied.
    func namespaceCount(base: IndexView) -> Int {
        var count = base.namespaceCount
        for name in cleared where base.snapshot(name) != nil { count -= 1 }
        var appeared = created
        for (name, local) in changes where local.values.contains(where: { if case .put = $0 { true } else { false } }) {
            appeared.insert(name)
        }
        for name in appeared where cleared.contains(name) || base.snapshot(name) == nil { count += 1 }
        return count
    }

    func isExplicit(_ namespace: String, base: IndexView) -> Bool {
        created.contains(namespace) || (!cleared.contains(namespace) && base.snapshot(namespace)?.isExplicit == true)
    }

    mutating func note(_ operation: WriteOperation) {
        switch operation {
        case .upsert(let namespace, let records):
            for record in records { changes[namespace, default: [:]][record.id] = .put(record) }
        case .delete(let namespace, let ids):
            for id in ids { changes[namespace, default: [:]][id] = .removed }
        case .deleteNamespace(let namespace):
            cleared.insert(namespace)
            created.remove(namespace)
            changes[namespace] = nil
        case .createNamespace(let namespace):
            created.insert(namespace)
        }
    }
}
