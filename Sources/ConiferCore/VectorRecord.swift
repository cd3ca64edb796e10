import Foundation

/// One metadata value: Pinecone allows strings, numbers, booleans and lists of strings.
public enum MetadataValue: Sendable, Equatable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case strings([String])

    public var json: JSONValue {
        switch self {
        case .string(let value): .string(value)
        case .number(let value): .number(value)
        case .bool(let value): .bool(value)
        case .strings(let values): .array(values.map { .string($0) })
        }
    }
}

/// A record's metadata: a flat object.
public typealias Metadata = [String: MetadataValue]

/// A sparse vector, kept sorted by index with no duplicates.
public struct SparseVector: Sendable, Equatable, Hashable {
    public var indices: [UInt32]
    public var values: [Float]

    public init(indices: [UInt32], values: [Float]) {
        self.indices = indices
        self.values = values
    }

    /// Validates a client-supplied sparse vector and returns it sorted by index.
    public static func validated(indices: [Int64], values: [Float]) throws(ConiferError) -> SparseVector {
        guard indices.count == values.count else {
            throw .invalidArgument("Sparse vector indices and values must have the same length (\(indices.count) vs \(values.count)).")
        }
        guard indices.count <= DataLimits.maxSparseValues else {
            throw .invalidArgument("Sparse vector has \(indices.count) non-zero values; the maximum is \(DataLimits.maxSparseValues).")
        }
        guard indices.allSatisfy({ (0...Int64(UInt32.max)).contains($0) }) else {
            throw .invalidArgument("Sparse vector indices must be between 0 and \(UInt32.max).")
        }
        guard values.allSatisfy(\.isFinite) else { throw .invalidArgument("Sparse vector values must be finite numbers.") }
        try DataLimits.validateMagnitude(values, what: "Sparse vector")
        let pairs = zip(indices.map { UInt32($0) }, values).sorted { $0.0 < $1.0 }
        for i in pairs.indices.dropFirst() where pairs[i].0 == pairs[i - 1].0 {
            throw .invalidArgument("Sparse vector indices must be unique; \(pairs[i].0) appears twice.")
        }
        return SparseVector(indices: pairs.map(\.0), values: pairs.map(\.1))
    }
}

/// A stored record: an id, dense values (empty in sparse indexes), optional sparse values and metadata.
public struct VectorRecord: Sendable, Equatable {
    public var id: String
    public var values: [Float]
    public var sparse: SparseVector?
    public var metadata: Metadata

    public init(id: String, values: [Float], sparse: SparseVector? = nil, metadata: Metadata = [:]) {
        self.id = id
        self.values = values
        self.sparse = sparse
        self.metadata = metadata
    }
}

/// Pinecone's documented data-plane limits (pinecone-api.md §3.4).
public enum DataLimits {
    public static let maxIDLength = 512
    public static let maxNamespaceLength = 512
    public static let maxMetadataBytes = 40 * 1024
    public static let maxUpsertBatch = 1000
    public static let maxIDsPerRequest = 1000
    public static let maxTopK = 10_000
    /// `topK` when a query includes values or metadata (Pinecone caps it at 1,000 there).
    public static let maxTopKWithData = 1000
    public static let maxSparseValues = 2048
    public static let maxListLimit = 100
    public static let maxFetchByMetadataLimit = 10_000
    public static let maxFilterDepth = 16
    /// Clauses in one filter (each operator on a field, each `$and`/`$or` member), so one request cannot tie up a core.
    public static let maxFilterClauses = 1000
    /// Values in all `$in`/`$nin` lists of one filter.
    public static let maxFilterValues = 10_000
    /// The largest squared L2 norm of a dense or sparse vector. Every score Conifer computes is bounded by
    /// products of two norms (Cauchy–Schwarz), so with both norms below √(Float.max/16) no dot product,
    /// cosine, squared distance or hybrid sum can overflow to infinity (SECURITY.md rule 11).
    public static let maxSquaredNorm = Double(Float.greatestFiniteMagnitude) / 16
    /// Default request body limit of the data plane (Pinecone's 2 MB per upsert).
    public static let defaultMaxRequestBytes = 2 * 1024 * 1024

    /// Checks a record or namespace id: 1–512 ASCII characters without NUL.
    public static func validateID(_ id: String) throws(ConiferError) {
        guard !id.isEmpty, id.utf8.count <= maxIDLength, id.utf8.allSatisfy({ $0 >= 1 && $0 <= 127 }) else {
            throw .invalidArgument("Invalid vector id '\(id.prefix(64))': ids must be 1 to \(maxIDLength) ASCII characters.")
        }
    }

    /// Checks a namespace name: up to 512 ASCII characters without NUL ("" is the default namespace).
    public static func validateNamespace(_ name: String) throws(ConiferError) {
        guard name.utf8.count <= maxNamespaceLength, name.utf8.allSatisfy({ $0 >= 1 && $0 <= 127 }) else {
            throw .invalidArgument("Invalid namespace '\(name.prefix(64))': namespaces must be at most \(maxNamespaceLength) ASCII characters.")
        }
    }

    /// Checks dense values against the index dimension and Pinecone's rule that some value is non-zero.
    public static func validateDense(_ values: [Float], dimension: Int) throws(ConiferError) {
        guard values.count == dimension else {
            throw .invalidArgument("Vector dimension \(values.count) does not match the dimension of the index \(dimension)")
        }
        guard values.allSatisfy(\.isFinite) else { throw .invalidArgument("Dense vector values must be finite numbers.") }
        guard values.contains(where: { abs($0) >= 1e-8 }) else {
            throw .invalidArgument("Dense vectors must contain at least one non-zero value.")
        }
        try validateMagnitude(values, what: "Dense vector")
    }

    /// Rejects vectors so large that their scores could overflow (see `maxSquaredNorm`).
    public static func validateMagnitude(_ values: [Float], what: String) throws(ConiferError) {
        let squaredNorm = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        guard squaredNorm <= maxSquaredNorm else {
            throw .invalidArgument("\(what) values are too large: the vector's length must stay below 4.6e18 so that scores stay finite.")
        }
    }
}

extension Metadata {
    /// Builds metadata from a JSON object, enforcing Pinecone's rules: flat, no nulls, lists of strings only,
    /// keys not starting with `$`, at most 40 KB.
    public static func validated(_ json: [String: JSONValue]) throws(ConiferError) -> Metadata {
        var metadata: Metadata = [:]
        for (key, value) in json {
            guard !key.isEmpty, !key.hasPrefix("$") else {
                throw .invalidArgument("Invalid metadata key '\(key.prefix(64))': keys must be non-empty and must not start with '$'.")
            }
            switch value {
            case .string(let text):
                metadata[key] = .string(text)
            case .number(let number):
                guard number.isFinite else { throw .invalidArgument("Metadata value for '\(key)' must be a finite number.") }
                metadata[key] = .number(number)
            case .bool(let flag):
                metadata[key] = .bool(flag)
            case .array(let items):
                var strings: [String] = []
                for item in items {
                    guard case .string(let text) = item else {
                        throw .invalidArgument("Metadata list '\(key)' must contain only strings, found a \(item.typeName).")
                    }
                    strings.append(text)
                }
                metadata[key] = .strings(strings)
            case .null, .object:
                throw .invalidArgument("Metadata value for '\(key)' is a \(value.typeName); values must be strings, numbers, booleans or lists of strings.")
            }
        }
        try metadata.validateSize()
        return metadata
    }

    /// The bytes the 40 KB limit counts: keys, string bytes, 8 per number, 1 per boolean.
    public var byteSize: Int {
        reduce(0) { total, entry in
            let value = switch entry.value {
            case .string(let text): text.utf8.count
            case .number: 8
            case .bool: 1
            case .strings(let list): list.reduce(0) { $0 + $1.utf8.count }
            }
            return total + entry.key.utf8.count + value
        }
    }

    /// Throws 400 when the metadata is over the per-record limit; checked on the record as it will be
    /// stored, so updates that merge metadata cannot grow a record past it.
    public func validateSize() throws(ConiferError) {
        let bytes = byteSize
        guard bytes <= DataLimits.maxMetadataBytes else {
            throw .invalidArgument("Metadata size is \(bytes) bytes, which exceeds the limit of \(DataLimits.maxMetadataBytes) bytes per vector.")
        }
    }
}
