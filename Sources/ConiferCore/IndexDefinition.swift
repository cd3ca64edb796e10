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
