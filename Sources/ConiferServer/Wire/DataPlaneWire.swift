import ConiferCore
import Foundation

// Vector data-plane shapes (camelCase; identical across 2025-04 … 2026-07 except where noted).

struct SparseValuesWire: Codable, Equatable {
    var indices: [Int64]
    var values: [Float]

    init(indices: [Int64], values: [Float]) {
        self.indices = indices
        self.values = values
    }

    init(_ sparse: SparseVector) {
        indices = sparse.indices.map(Int64.init)
        values = sparse.values
    }

    func domain() throws(ConiferError) -> SparseVector {
        try SparseVector.validated(indices: indices, values: values)
    }
}

struct VectorWire: Decodable, Equatable {
    var id: String
    var values: [Float]?
    var sparseValues: SparseValuesWire?
    var metadata: [String: JSONValue]?

    func domain() throws(ConiferError) -> VectorRecord {
        VectorRecord(
            id: id,
            values: values ?? [],
            sparse: try sparseValues?.domain(),
            metadata: try metadata.map { (m) throws(ConiferError) in try Metadata.validated(m) } ?? [:]
        )
    }
}

struct UpsertRequestWire: Decodable, Equatable {
    var vectors: [VectorWire]
    var namespace: String?
}

struct QueryRequestWire: Decodable, Equatable {
    var topK: Int
    var namespace: String?
    var filter: JSONValue?
    var includeValues: Bool?
    var includeMetadata: Bool?
    var vector: [Float]?
    var sparseVector: SparseValuesWire?
    var id: String?
    var queries: JSONValue?
}

extension QueryRequestWire {
    init(topK: Int) {
        self.topK = topK
    }
}

struct UpdateRequestWire: Decodable {
    var id: String?
    var values: [Float]?
    var sparseValues: SparseValuesWire?
    var setMetadata: [String: JSONValue]?
    var namespace: String?
    var filter: JSONValue?
    var dryRun: Bool?
}

struct DeleteRequestWire: Decodable {
    var ids: [String]?
    var deleteAll: Bool?
    var namespace: String?
    var filter: JSONValue?
}

struct FetchByMetadataRequestWire: Decodable {
    var namespace: String?
    var filter: JSONValue?
    var limit: Int?
    var paginationToken: String?
}

struct StatsRequestWire: Decodable {
    var filter: JSONValue?
}

struct CreateNamespaceRequestWire: Decodable {
    var name: String
    var schema: JSONValue?
}

/// A record in fetch responses and, with a score, in query matches.
struct VectorOutWire: Encodable {
    var id: String
    var score: Float?
    var values: [Float]
    var sparseValues: SparseValuesWire?
    var metadata: [String: JSONValue]?

    init(_ record: VectorRecord, score: Float? = nil, includeValues: Bool = true, includeMetadata: Bool = true) {
        id = record.id
        self.score = score
        values = includeValues ? record.values : []
        sparseValues = includeValues ? record.sparse.map(SparseValuesWire.init) : nil
        metadata = includeMetadata && !record.metadata.isEmpty ? record.metadata.mapValues(\.json) : nil
    }
}

struct UsageWire: Encodable {
    var readUnits: Int
}

struct PaginationWire: Encodable {
    var next: String
}

struct UpsertResponseWire: Encodable {
    var upsertedCount: Int
}

struct QueryResponseWire: Encodable {
    var matches: [VectorOutWire]
    var namespace: String
    var usage: UsageWire
}

struct FetchResponseWire: Encodable {
    var vectors: [String: VectorOutWire]
    var namespace: String
    var usage: UsageWire
    var pagination: PaginationWire?
}

struct ListResponseWire: Encodable {
    struct Item: Encodable { var id: String }
    var vectors: [Item]
    var pagination: PaginationWire?
    var namespace: String
    var usage: UsageWire
}

struct UpdateResponseWire: Encodable {
    var matchedRecords: Int?
}

struct EmptyWire: Encodable {}

struct StatsResponseWire: Encodable {
    struct NamespaceSummary: Encodable { var vectorCount: Int }
    var namespaces: [String: NamespaceSummary]
    var dimension: Int?
    var indexFullness: Double
    var totalVectorCount: Int
    var metric: String
    var vectorType: String
}

/// `NamespaceDescription`; counts are int64 and travel as strings, as Pinecone's gateway sends them.
struct NamespaceDescriptionWire: Encodable {
    var name: String
    var record_count: String
}

struct NamespaceListWire: Encodable {
    var namespaces: [NamespaceDescriptionWire]
    var pagination: PaginationWire?
    var total_count: Int
}

/// Opaque pagination tokens: the last id (or namespace name) of the page, base64url-encoded.
enum PageToken {
    static func make(after key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func parse(_ token: String?) throws(ConiferError) -> String? {
        guard let token, !token.isEmpty else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard token.count <= 2048, let data = Data(base64Encoded: base64), let key = String(data: data, encoding: .utf8) else {
            throw .invalidArgument("Invalid pagination token.")
        }
        return key
    }

    /// The `pagination` member for a page that has more after `after` (nil on the last page).
    static func pagination(_ after: String?) -> PaginationWire? {
        after.map { PaginationWire(next: make(after: $0)) }
    }
}
