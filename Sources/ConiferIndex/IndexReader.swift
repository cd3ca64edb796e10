import ConiferCore

/// What the data plane may ask of a consistent snapshot of an index. It is the only door to the in-memory
/// representation from outside ConiferIndex and ConiferStorage, so the search engine can change (columnar
/// namespaces, HNSW) without touching the services or the HTTP edge.
public protocol IndexReader: Sendable {
    /// The stored names of the namespaces present ("" is the default namespace), in no particular order.
    var namespaceNames: [String] { get }
    func namespace(_ name: String) -> (any NamespaceReader)?
}

/// A consistent snapshot of one namespace.
public protocol NamespaceReader: Sendable {
    var recordCount: Int { get }
    func record(_ id: String) -> VectorRecord?
    /// Ids starting with `prefix`, ascending.
    func ids(prefix: String) -> [String]
    /// Ids of the records whose metadata matches `filter`, ascending.
    func ids(matching filter: MetadataFilter) -> [String]
    func count(matching filter: MetadataFilter) -> Int
    /// The best `query.topK` records for the query among those matching its filter, best first.
    func search(_ query: SearchQuery, metric: Metric) -> [ScoredID]
}

extension IndexState: IndexReader {
    public var namespaceNames: [String] { Array(namespaces.keys) }

    public func namespace(_ name: String) -> (any NamespaceReader)? { namespaces[name] }
}

extension NamespaceState: NamespaceReader {
    public var recordCount: Int { records.count }

    public func record(_ id: String) -> VectorRecord? { records[id]?.record }

    public func ids(prefix: String) -> [String] {
        records.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    public func ids(matching filter: MetadataFilter) -> [String] {
        records.filter { filter.matches($0.value.record.metadata) }.keys.sorted()
    }

    public func count(matching filter: MetadataFilter) -> Int {
        filter.isEmpty ? records.count : records.values.count { filter.matches($0.record.metadata) }
    }

    public func search(_ query: SearchQuery, metric: Metric) -> [ScoredID] {
        ExactSearch.search(self, query: query, metric: metric)
    }
}
