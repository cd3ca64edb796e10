// ConiferIndex — the in-memory index: namespaces and their records, distance kernels, exact search, and
// `IndexReader`, the only way the rest of Conifer reads it. Pure: no I/O. Depends on ConiferCore.

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

/// A stored record with what search needs precomputed. Immutable and shared: a reference type so that
/// scanning a namespace copies one pointer per record, not the record's arrays and dictionary.
public final class StoredRecord: Sendable {
    public let record: VectorRecord
    /// The L2 norm of the dense values, for cosine scores.
    public let norm: Float

    public init(_ record: VectorRecord) {
        self.record = record
        norm = DistanceKernels.norm(record.values)
    }
}

/// The records of one namespace.
public struct NamespaceState: Sendable {
    public var records: [String: StoredRecord] = [:]
    /// Created through `POST /namespaces`: kept even while empty.
    public var explicit = false

    public init(explicit: Bool = false) {
        self.explicit = explicit
    }
}

/// Everything an index holds in memory: its namespaces and their records. A value type, so a reader can
/// take a consistent snapshot while writers go on.
public struct IndexState: Sendable {
    public var namespaces: [String: NamespaceState] = [:]

    public init() {}

    public var totalRecordCount: Int { namespaces.values.reduce(0) { $0 + $1.records.count } }

    public func record(namespace: String, id: String) -> VectorRecord? {
        namespaces[namespace]?.records[id]?.record
    }

    public mutating func apply(_ operation: WriteOperation) {
        switch operation {
        case .upsert(let namespace, let records):
            var state = namespaces.removeValue(forKey: namespace) ?? NamespaceState()
            for record in records {
                state.records[record.id] = StoredRecord(record)
            }
            namespaces[namespace] = state
        case .delete(let namespace, let ids):
            guard var state = namespaces.removeValue(forKey: namespace) else { return }
            for id in ids {
                state.records[id] = nil
            }
            // A namespace emptied by deletes disappears unless it was created explicitly (as on Pinecone serverless).
            if !state.records.isEmpty || state.explicit {
                namespaces[namespace] = state
            }
        case .deleteNamespace(let namespace):
            namespaces[namespace] = nil
        case .createNamespace(let namespace):
            if namespaces[namespace] == nil {
                namespaces[namespace] = NamespaceState(explicit: true)
            } else {
                namespaces[namespace]?.explicit = true
            }
        }
    }

    public mutating func apply(_ operations: [WriteOperation]) {
        for operation in operations { apply(operation) }
    }
}
