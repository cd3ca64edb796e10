import ConiferCore

/// A data-plane write as the server hands it to a store: validated against the index schema, not yet
/// resolved against the stored records.
public enum WriteRequest: Sendable {
    case upsert(namespace: String, records: [VectorRecord])
    case deleteIDs(namespace: String, ids: [String])
    case deleteAll(namespace: String)
    case deleteByFilter(namespace: String, filter: MetadataFilter)
    /// Replaces values or sparse values when given; merges `setMetadata` into the stored metadata.
    case updateByID(namespace: String, id: String, values: [Float]?, sparse: SparseVector?, setMetadata: Metadata?)
    /// Merges `setMetadata` into every matching record; `dryRun` only counts them.
    case updateByFilter(namespace: String, filter: MetadataFilter, setMetadata: Metadata, dryRun: Bool)
    case createNamespace(String)
    case deleteNamespace(String)
}

/// What a write did.
public struct WriteResult: Sendable, Equatable {
    /// Records written (upsert) or matched (update, delete by filter).
    public var matchedRecords: Int

    public init(matchedRecords: Int) {
        self.matchedRecords = matchedRecords
    }
}

/// When a store folds its write log into a new segment.
public struct CompactionPolicy: Sendable {
    public var maxLogFiles: Int
    public var maxLogBytes: Int
    /// Graph nodes built since the last segment after which a store whose graphs have caught up with its
    /// writes saves them (so a restart after a bulk load loads the graph instead of rebuilding it).
    public var graphCheckpoint: Int
    /// Removed records (overwritten or deleted) whose memory a compaction gives back by rebuilding the index
    /// from its live records, once they are also a quarter of all slots.
    public var reclaimSlots: Int
    /// The longest a write may stay in the log: deleted and overwritten records leave the disk at the next
    /// compaction, so this bounds how long a deleted record's bytes stay in the index's files.
    public var purgeAfter: Duration

    public init(
        maxLogFiles: Int = 1000, maxLogBytes: Int = 256 << 20, graphCheckpoint: Int = 50_000, reclaimSlots: Int = 10_000,
        purgeAfter: Duration = .seconds(90 * 86_400)
    ) {
        self.maxLogFiles = maxLogFiles
        self.maxLogBytes = maxLogBytes
        self.graphCheckpoint = graphCheckpoint
        self.reclaimSlots = reclaimSlots
        self.purgeAfter = purgeAfter
    }

    /// Never compacts on its own (benchmarks of log recovery).
    public static let never = CompactionPolicy(
        maxLogFiles: .max, maxLogBytes: .max, graphCheckpoint: .max, reclaimSlots: .max, purgeAfter: .seconds(Int64.max)
    )
}
