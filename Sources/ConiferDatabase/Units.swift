import ConiferCore
import Foundation

/// Read and write units, after Pinecone's serverless cost model (docs.pinecone.io, "Understanding cost"): a
/// query costs 1 RU per GB of the namespace it searches (at least 0.25); a fetch 1 RU per 10 records returned
/// (at least 1); a list page 1 RU; an upsert, update or delete 1 WU per KB of the records written — for an
/// update the old and the new version — at least 5 per request. Responses report read units rounded up, as
/// Pinecone's do; the metrics keep the exact values.
public enum Units {
    /// A record's size as the cost model counts it: id, dense values (4 bytes each), sparse entries (index
    /// and value, 12 bytes) and metadata.
    public static func bytes(of record: VectorRecord) -> Int {
        record.id.utf8.count + 4 * record.values.count + 12 * (record.sparse?.indices.count ?? 0) + record.metadata.byteSize
    }

    /// A namespace's size for the query cost: its records at the index's dense record size (id and metadata
    /// left out: reading every record's size on each query would cost more than the query).
    public static func namespaceBytes(records: Int, dimension: Int?) -> Int {
        records * 4 * (dimension ?? 0)
    }

    public static func query(namespaceBytes: Int) -> Double { max(0.25, Double(namespaceBytes) / 1_000_000_000) }
    public static func fetch(records: Int) -> Double { max(1, (Double(records) / 10).rounded(.up)) }
    public static let list: Double = 1
    public static func write(bytes: Int) -> Double { max(5, (Double(bytes) / 1024).rounded(.up)) }

    /// Read units as a response reports them: rounded up to a whole unit.
    public static func reported(_ units: Double) -> Int { Int(units.rounded(.up)) }
}
