// ConiferIndex — the in-memory index: columnar namespaces with versioned slots, HNSW graphs, distance
// kernels, the search planner and exact search, and `IndexReader`, the only way the rest of Conifer reads
// it. Pure: no I/O. Its allowed imports: docs/ARCHITECTURE.md.

import ConiferCore

/// A resolved, validated change to an index: what the write log records and what replay applies.
public enum WriteOperation: Sendable, Equatable {
    case upsert(namespace: String, records: [VectorRecord])
    case delete(namespace: String, ids: [String])
    /// Removes a namespace and every record in it (also what `deleteAll` does).
    case deleteNamespace(String)
    /// Creates an empty namespace that stays listed until deleted.
    case createNamespace(String)
}

/// Everything an index holds in memory, as its one writer sees it: the namespaces by name.
///
/// The index store owns the one `IndexState`; it applies writes a group at a time and hands readers its
/// `view`. Copies of the state would share the namespace stores, so only the owner applies writes.
public struct IndexState: Sendable {
    public let settings: EngineSettings
    private var namespaces: [String: NamespaceStore] = [:]

    public init(settings: EngineSettings = .init()) {
        self.settings = settings
    }

    /// What readers get: the namespaces as of now, each read as of the moment it is asked for.
    public var view: IndexView { IndexView(namespaces: namespaces) }

    /// Applies a group of operations and publishes them together.
    public mutating func apply(_ operations: [WriteOperation]) {
        var touched: [NamespaceStore] = []
        for operation in operations {
            switch operation {
            case .upsert(let namespace, let records):
                let store = store(namespace)
                store.upsert(records)
                touched.append(store)
            case .delete(let namespace, let ids):
                guard let store = namespaces[namespace] else { continue }
                store.delete(ids)
                touched.append(store)
                // A namespace emptied by deletes disappears unless it was created explicitly (as on Pinecone serverless).
                if store.pendingLiveCount == 0, !store.pendingExplicit {
                    namespaces[namespace] = nil
                    store.retire()
                }
            case .deleteNamespace(let namespace):
                namespaces.removeValue(forKey: namespace)?.retire()
            case .createNamespace(let namespace):
                let store = store(namespace)
                store.markExplicit()
                touched.append(store)
            }
        }
        for store in touched { store.publish() }
    }

    public mutating func apply(_ operation: WriteOperation) {
        apply([operation])
    }

    /// Replaces a namespace with a saved image (recovery, before any write is applied).
    public mutating func restore(_ namespace: String, from image: NamespaceImage) {
        namespaces[namespace]?.retire()
        namespaces[namespace] = NamespaceStore(settings: settings, image: image)
    }

    private mutating func store(_ namespace: String) -> NamespaceStore {
        if let store = namespaces[namespace] { return store }
        let store = NamespaceStore(settings: settings)
        namespaces[namespace] = store
        return store
    }
}

/// A read-only view of an index's namespaces. Each namespace is read at its watermark when it is asked for,
/// so a reader sees every group of writes applied before it asked and never a part of one.
public struct IndexView: IndexReader {
    let namespaces: [String: NamespaceStore]

    public var namespaceNames: [String] { Array(namespaces.keys) }
    public var namespaceCount: Int { namespaces.count }

    public func namespace(_ name: String) -> (any NamespaceReader)? { snapshot(name) }

    /// A snapshot of one namespace as of now.
    public func snapshot(_ name: String) -> NamespaceSnapshot? { namespaces[name]?.snapshot() }

    public var totalRecordCount: Int { namespaces.values.reduce(0) { $0 + $1.snapshot().recordCount } }

    public func record(namespace: String, id: String) -> VectorRecord? {
        snapshot(namespace)?.record(id)
    }

    /// Every namespace frozen now (what compaction writes into a segment).
    public func frozen() -> IndexSnapshot {
        IndexSnapshot(namespaces: namespaces.mapValues { $0.snapshot() })
    }

    /// Published records not yet in their namespace's graph.
    public var unindexedCount: Int { namespaces.values.reduce(0) { $0 + $1.unindexedCount } }

    /// Records the builder has handed to the graphs.
    public var graphNodeCount: Int { namespaces.values.reduce(0) { $0 + ($1.graph?.indexed ?? 0) } }

    /// Adds up to `limit` records to each namespace's graph; returns whether any namespace has more waiting.
    public func buildGraphs(limit: Int) -> Bool {
        var more = false
        for namespace in namespaces.values where namespace.buildGraph(limit: limit) { more = true }
        return more
    }
}

/// Every namespace of an index frozen at one moment.
public struct IndexSnapshot: Sendable {
    public let namespaces: [String: NamespaceSnapshot]

    /// Slots the namespaces hold in memory, live or removed.
    public var slotCount: Int { namespaces.values.reduce(0) { $0 + $1.slotCount } }
    /// Slots holding overwritten or deleted records: memory a rebuild from the live records gives back.
    public var removedSlotCount: Int { slotCount - namespaces.values.reduce(0) { $0 + $1.recordCount } }
}
