import Foundation

/// Whether an index stores dense or sparse vectors.
public enum VectorType: String, Codable, Sendable, CaseIterable {
    case dense
    case sparse
}

/// The similarity metric of a dense index (sparse indexes always use dot product).
public enum Metric: String, Codable, Sendable, CaseIterable {
    case cosine
    case euclidean
    case dotproduct
}

/// What a dense index's graph is walked on (set at creation; Conifer's own setting, `vector_encoding` in the
/// index's spec or deployment).
public enum VectorEncoding: String, Codable, Sendable, CaseIterable {
    /// The float vectors (4 bytes a value), all in memory.
    case float32
    /// int8 codes (1 byte a value) in memory; answers rescored on the float vectors, which stay on disk
    /// (memory-mapped, encrypted) and are paged in as they are read.
    case int8
}

/// Whether `DELETE` is refused for an index.
public enum DeletionProtection: String, Codable, Sendable, CaseIterable {
    case enabled
    case disabled
}

/// Where Pinecone would run the index. Conifer runs every index locally; the deployment is kept so that
/// clients read back what they asked for.
public enum Deployment: Codable, Sendable, Equatable {
    case serverless(cloud: String, region: String)
    case pod(environment: String, podType: String, replicas: Int, shards: Int, pods: Int)
    case byoc(environment: String)

    public static let defaultServerless = Deployment.serverless(cloud: "aws", region: "us-east-1")

    /// A pod deployment with Pinecone's defaults for what the request left out
    /// (pod type p1.x1, one replica, one shard, replicas × shards pods).
    public static func podWithDefaults(environment: String, podType: String?, replicas: Int?, shards: Int?, pods: Int?) -> Deployment {
        let replicas = replicas ?? 1
        let shards = shards ?? 1
        return .pod(environment: environment, podType: podType ?? "p1.x1", replicas: replicas, shards: shards, pods: pods ?? replicas * shards)
    }

    /// The pods the deployment takes from its project's `max_pods` (none for serverless and BYOC).
    public var podCount: Int {
        guard case .pod(_, _, let replicas, let shards, let pods) = self else { return 0 }
        return max(pods, replicas * shards)
    }
}

/// The read capacity mode of a serverless or BYOC index (API 2025-10 and later).
public struct ReadCapacity: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case onDemand = "OnDemand"
        case dedicated = "Dedicated"
    }

    public var mode: Mode
    /// Dedicated only: `b1` or `t1`.
    public var nodeType: String?
    public var replicas: Int?
    public var shards: Int?

    public init(mode: Mode, nodeType: String? = nil, replicas: Int? = nil, shards: Int? = nil) {
        self.mode = mode
        self.nodeType = nodeType
        self.replicas = replicas
        self.shards = shards
    }

    public static let onDemand = ReadCapacity(mode: .onDemand)
}

/// One index as the control plane knows it: the storage model that every API dialect translates to and from.
public struct IndexDefinition: Codable, Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var name: String
    public var vectorType: VectorType
    /// Present for dense indexes, absent for sparse ones.
    public var dimension: Int?
    public var metric: Metric
    public var deletionProtection: DeletionProtection
    public var tags: [String: String]
    public var deployment: Deployment
    public var readCapacity: ReadCapacity
    public var createdAt: Date
    /// The project's customer-managed key that wraps this index's data key (set at creation, when the
    /// project has one); nil when the local master key does.
    public var cmekID: UUID?
    /// The restore job writing the index from a backup (or the collection it is created from), until the
    /// records are written: the index is listed and described (not ready) but serves no data meanwhile, and a
    /// server stopped before then removes it at the next start.
    public var restoreJobID: UUID?
    /// What the index's graph is walked on.
    public var vectorEncoding: VectorEncoding = .float32
    /// The origin of the server that holds the index's files, when several servers share the catalog (each serves
    /// the indexes it created until index files move to shared storage); nil on a catalog of one server.
    public var home: String?

    public init(
        id: UUID = UUID(),
        projectID: UUID,
        name: String,
        vectorType: VectorType,
        dimension: Int?,
        metric: Metric,
        deletionProtection: DeletionProtection = .disabled,
        tags: [String: String] = [:],
        deployment: Deployment = .defaultServerless,
        readCapacity: ReadCapacity = .onDemand,
        createdAt: Date = Date(),
        cmekID: UUID? = nil
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.vectorType = vectorType
        self.dimension = dimension
        self.metric = metric
        self.deletionProtection = deletionProtection
        self.tags = tags
        self.deployment = deployment
        self.readCapacity = readCapacity
        self.createdAt = createdAt
        self.cmekID = cmekID
    }
}

extension IndexDefinition {
    /// Decodes what `encode(to:)` writes; definitions saved before `vectorEncoding` existed (in backups)
    /// decode as float32.
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        id = try fields.decode(UUID.self, forKey: .id)
        projectID = try fields.decode(UUID.self, forKey: .projectID)
        name = try fields.decode(String.self, forKey: .name)
        vectorType = try fields.decode(VectorType.self, forKey: .vectorType)
        dimension = try fields.decodeIfPresent(Int.self, forKey: .dimension)
        metric = try fields.decode(Metric.self, forKey: .metric)
        deletionProtection = try fields.decode(DeletionProtection.self, forKey: .deletionProtection)
        tags = try fields.decode([String: String].self, forKey: .tags)
        deployment = try fields.decode(Deployment.self, forKey: .deployment)
        readCapacity = try fields.decode(ReadCapacity.self, forKey: .readCapacity)
        createdAt = try fields.decode(Date.self, forKey: .createdAt)
        cmekID = try fields.decodeIfPresent(UUID.self, forKey: .cmekID)
        restoreJobID = try fields.decodeIfPresent(UUID.self, forKey: .restoreJobID)
        vectorEncoding = try fields.decodeIfPresent(VectorEncoding.self, forKey: .vectorEncoding) ?? .float32
        home = try fields.decodeIfPresent(String.self, forKey: .home)
    }
}
