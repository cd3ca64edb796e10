import ConiferCore

/// What the data plane may ask of a consistent snapshot of an index. It is the only door to the in-memory
/// representation from outside ConiferIndex and ConiferStorage, so the search engine can change without
/// touching the services or the HTTP edge.
public protocol IndexReader: Sendable {
    /// The stored names of the namespaces present ("" is the default namespace), in no particular order.
    var namespaceNames: [String] { get }
    func namespace(_ name: String) -> (any NamespaceReader)?
}

/// A consistent snapshot of one namespace.
public protocol NamespaceReader: Sendable {
    var recordCount: Int { get }
    func record(_ id: String) -> VectorRecord?
    /// The record a result of this snapshot's `search` names (read from its slot, not looked up by id).
    func record(of result: ScoredID) -> VectorRecord
    /// The id of the record a result of this snapshot's `search` names (nothing else of it is read).
    func id(of result: ScoredID) -> String
    /// Ids starting with `prefix`, ascending.
    func ids(prefix: String) -> [String]
    /// Ids of the records whose metadata matches `filter`, ascending.
    func ids(matching filter: MetadataFilter) -> [String]
    func count(matching filter: MetadataFilter) -> Int
    /// The best `query.topK` records for the query among those matching its filter, best first.
    func search(_ query: SearchQuery, metric: Metric) -> [ScoredID]
    /// Whether `search` will take well under a millisecond or so (a graph search over a namespace whose
    /// unbuilt tail is small), so it can run on the caller's thread instead of one of its own.
    func searchIsQuick(_ query: SearchQuery, metric: Metric) -> Bool
}
