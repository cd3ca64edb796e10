import ConiferCore

// Control-plane index shapes of API 2025-04 and 2025-10 (SDK 7.x–9.x): dimension, metric, vector_type, spec.

struct LegacyServerlessSpec: Codable {
    var cloud: String
    var region: String
    var source_collection: String?
    var read_capacity: ReadCapacityRequest?
    var vector_encoding: String?
}

struct LegacyPodSpec: Codable {
    var environment: String
    var pod_type: String?
    var replicas: Int?
    var shards: Int?
    var pods: Int?
    var source_collection: String?
    var vector_encoding: String?
}

struct LegacyByocSpec: Codable {
    var environment: String
    var read_capacity: ReadCapacityRequest?
    var vector_encoding: String?
}

struct LegacySpec: Codable {
    var serverless: LegacyServerlessSpec?
    var pod: LegacyPodSpec?
    var byoc: LegacyByocSpec?
}

/// Public and Encodable too: the command-line client creates serverless indexes with it.
public struct LegacyCreateIndexRequest: Codable {
    var name: String
    var dimension: Int?
    var metric: String?
    var vector_type: String?
    var deletion_protection: String?
    var tags: [String: String]?
    var spec: LegacySpec

    /// A serverless index in `cloud` and `region`.
    public init(
        name: String, dimension: Int?, metric: String?, vector_type: String, deletion_protection: String, tags: [String: String]?, cloud: String,
        region: String, vectorEncoding: String? = nil
    ) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.vector_type = vector_type
        self.deletion_protection = deletion_protection
        self.tags = tags
        spec = LegacySpec(serverless: LegacyServerlessSpec(cloud: cloud, region: region, vector_encoding: vectorEncoding))
    }

    func domain() throws(ConiferError) -> IndexCreation {
        let specs = [spec.serverless != nil, spec.pod != nil, spec.byoc != nil].filter { $0 }.count
        guard specs == 1 else {
            throw .invalidArgument("spec must contain exactly one of serverless, pod or byoc.")
        }
        var deployment = Deployment.defaultServerless
        var readCapacity = ReadCapacity.onDemand
        var sourceCollection: String?
        if let serverless = spec.serverless {
            deployment = .serverless(cloud: serverless.cloud, region: serverless.region)
            readCapacity = try serverless.read_capacity?.domain() ?? .onDemand
            sourceCollection = serverless.source_collection
        } else if let pod = spec.pod {
            deployment = .podWithDefaults(environment: pod.environment, podType: pod.pod_type, replicas: pod.replicas, shards: pod.shards, pods: pod.pods)
            sourceCollection = pod.source_collection
        } else if let byoc = spec.byoc {
            deployment = .byoc(environment: byoc.environment)
            readCapacity = try byoc.read_capacity?.domain() ?? .onDemand
        }
        return IndexCreation(
            name: name,
            vectorType: try WireEnum.parse(vector_type, field: "vector_type", as: VectorType.self) ?? .dense,
            dimension: dimension,
            metric: try WireEnum.parse(metric, field: "metric", as: Metric.self),
            deletionProtection: try WireEnum.parse(deletion_protection, field: "deletion_protection", as: DeletionProtection.self) ?? .disabled,
            tags: tags ?? [:],
            deployment: deployment,
            readCapacity: readCapacity,
            sourceCollection: sourceCollection,
            vectorEncoding: try WireEnum.parse(
                spec.serverless?.vector_encoding ?? spec.pod?.vector_encoding ?? spec.byoc?.vector_encoding, field: "vector_encoding",
                as: VectorEncoding.self
            )
        )
    }
}

/// Public and Encodable too: the command-line client changes deletion protection and tags with it.
public struct LegacyConfigureIndexRequest: Codable {
    struct Spec: Codable {
        struct Pod: Codable {
            var replicas: Int?
            var pod_type: String?
        }

        struct Capacity: Codable {
            var read_capacity: ReadCapacityRequest?
        }

        var pod: Pod?
        var serverless: Capacity?
        var byoc: Capacity?
    }

    var spec: Spec?
    var deletion_protection: String?
    var tags: [String: String]?
    var embed: [String: String]?
    /// Fields fixed at creation: sent here they are refused, never silently ignored.
    var name: JSONValue?
    var dimension: JSONValue?
    var metric: JSONValue?
    var vector_type: JSONValue?

    public init(deletion_protection: String?, tags: [String: String]?) {
        self.deletion_protection = deletion_protection
        self.tags = tags
    }

    func domain() throws(ConiferError) -> IndexConfiguration {
        try ImmutableIndexFields.reject(["name": name, "dimension": dimension, "metric": metric, "vector_type": vector_type])
        if embed != nil {
            throw .invalidArgument("Integrated embedding is not available in Conifer; embed cannot be configured.")
        }
        return IndexConfiguration(
            deletionProtection: try WireEnum.parse(deletion_protection, field: "deletion_protection", as: DeletionProtection.self),
            tags: tags,
            podReplicas: spec?.pod?.replicas,
            podType: spec?.pod?.pod_type,
            readCapacity: try (spec?.serverless?.read_capacity ?? spec?.byoc?.read_capacity)?.domain()
        )
    }
}

/// `IndexModel` of API 2025-04 (and, with `read_capacity` in the spec, 2025-10).
struct LegacyIndexModel: Encodable {
    var definition: IndexDefinition
    var host: String
    /// The data-plane base on the private listener, for indexes in a region of the project's private endpoints.
    var privateHost: String?
    var version: APIVersion

    enum Keys: String, CodingKey {
        case name, dimension, metric, host, private_host, vector_type, deletion_protection, tags, spec, status
        case serverless, pod, byoc
        case cloud, region, read_capacity
        case environment, pod_type, replicas, shards, pods
        case vector_encoding
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(definition.name, forKey: .name)
        try container.encodeIfPresent(definition.dimension, forKey: .dimension)
        try container.encode(definition.metric.rawValue, forKey: .metric)
        try container.encode(host, forKey: .host)
        try container.encodeIfPresent(privateHost, forKey: .private_host)
        try container.encode(definition.vectorType.rawValue, forKey: .vector_type)
        try container.encode(definition.deletionProtection.rawValue, forKey: .deletion_protection)
        try container.encode(definition.tags.isEmpty ? nil : definition.tags, forKey: .tags)
        var spec = container.nestedContainer(keyedBy: Keys.self, forKey: .spec)
        // Conifer's own setting, shown only where it differs from the default (clients that know only
        // Pinecone's fields see the spec they know).
        let encoding = definition.vectorEncoding == .float32 ? nil : definition.vectorEncoding.rawValue
        switch definition.deployment {
        case .serverless(let cloud, let region):
            var serverless = spec.nestedContainer(keyedBy: Keys.self, forKey: .serverless)
            try serverless.encode(cloud, forKey: .cloud)
            try serverless.encode(region, forKey: .region)
            if version >= .v2025_10 {
                try serverless.encode(ReadCapacityResponse(definition.readCapacity), forKey: .read_capacity)
            }
            try serverless.encodeIfPresent(encoding, forKey: .vector_encoding)
        case .pod(let environment, let podType, let replicas, let shards, let pods):
            var pod = spec.nestedContainer(keyedBy: Keys.self, forKey: .pod)
            try pod.encode(environment, forKey: .environment)
            try pod.encode(podType, forKey: .pod_type)
            try pod.encode(replicas, forKey: .replicas)
            try pod.encode(shards, forKey: .shards)
            try pod.encode(pods, forKey: .pods)
            try pod.encodeIfPresent(encoding, forKey: .vector_encoding)
        case .byoc(let environment):
            var byoc = spec.nestedContainer(keyedBy: Keys.self, forKey: .byoc)
            try byoc.encode(environment, forKey: .environment)
            if version >= .v2025_10 {
                try byoc.encode(ReadCapacityResponse(definition.readCapacity), forKey: .read_capacity)
            }
            try byoc.encodeIfPresent(encoding, forKey: .vector_encoding)
        }
        try container.encode(IndexStatusWire(definition), forKey: .status)
    }
}

/// `status` of every index model: Conifer builds an index synchronously, so it is ready when created; one
/// being restored from a backup is `Initializing` until its restore job completes.
struct IndexStatusWire: Encodable {
    var ready: Bool
    var state: String

    init(_ definition: IndexDefinition) {
        ready = definition.restoreJobID == nil
        state = ready ? "Ready" : "Initializing"
    }
}
