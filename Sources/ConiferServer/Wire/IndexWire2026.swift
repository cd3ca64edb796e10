import ConiferCore
import Foundation

// Control-plane index shapes of API 2026-07 (SDK 10.x): schema fields and deployment.

/// The reserved field names that make an index a classic vectors-API index.
enum VectorField {
    static let dense = "_values"
    static let sparse = "_sparse_values"
}

struct SchemaFieldRequest: Decodable {
    var type: String?
    var dimension: Int?
    var metric: String?
    var description: String?
}

struct DeploymentRequest: Decodable {
    var deployment_type: String
    var cloud: String?
    var region: String?
    var environment: String?
    var pod_type: String?
    var replicas: Int?
    var shards: Int?
    var pods: Int?
    /// Conifer's own: `float32` (the default) or `int8`.
    var vector_encoding: String?

    func domain() throws(ConiferError) -> Deployment {
        switch deployment_type {
        case "managed":
            guard let cloud, let region else {
                throw .invalidArgument("A managed deployment requires cloud and region.")
            }
            return .serverless(cloud: cloud, region: region)
        case "pod":
            guard let environment else { throw .invalidArgument("A pod deployment requires an environment.") }
            return .podWithDefaults(environment: environment, podType: pod_type, replicas: replicas, shards: shards, pods: pods)
        case "byoc":
            guard let environment else { throw .invalidArgument("A BYOC deployment requires an environment.") }
            return .byoc(environment: environment)
        default:
            throw .invalidArgument("Invalid deployment_type '\(deployment_type.prefix(32))': expected managed, pod or byoc.")
        }
    }
}

struct CreateIndexRequest2026: Decodable {
    struct Schema: Decodable {
        var fields: [String: SchemaFieldRequest]
    }

    static let allowedKeys: Set<String> = ["name", "schema", "deployment", "read_capacity", "cmek_id", "tags", "deletion_protection"]

    var name: String?
    var schema: Schema
    var deployment: DeploymentRequest?
    var read_capacity: ReadCapacityRequest?
    var cmek_id: String?
    var tags: [String: String]?
    var deletion_protection: String?

    func domain() throws(ConiferError) -> IndexCreation {
        let cmekID = try cmek_id.map { text throws(ConiferError) -> UUID in
            guard let id = UUID(uuidString: text) else { throw .invalidArgument("cmek_id names no customer-managed key known to this project.") }
            return id
        }
        let fields = schema.fields
        guard !fields.isEmpty else { throw .invalidArgument("schema.fields must contain at least one field.") }
        let unsupported = fields.keys.filter { $0 != VectorField.dense && $0 != VectorField.sparse }.sorted()
        guard unsupported.isEmpty else {
            throw .invalidArgument(
                "Unsupported schema field '\(unsupported[0].prefix(64))': Conifer serves vectors-API indexes, whose schema has "
                    + "a dense_vector field named \(VectorField.dense) or a sparse_vector field named \(VectorField.sparse)."
            )
        }
        let dense = fields[VectorField.dense]
        let sparse = fields[VectorField.sparse]
        if let dense, dense.type != "dense_vector" {
            throw .invalidArgument("Field \(VectorField.dense) must have type dense_vector.")
        }
        if let sparse, sparse.type != "sparse_vector" {
            throw .invalidArgument("Field \(VectorField.sparse) must have type sparse_vector.")
        }
        let vectorType: VectorType = dense == nil ? .sparse : .dense
        if vectorType == .dense, let metric = dense?.metric, sparse != nil, metric != Metric.dotproduct.rawValue {
            throw .invalidArgument("A dense index that also stores sparse values must use the metric dotproduct.")
        }
        if vectorType == .dense, dense?.metric == nil {
            throw .invalidArgument("Field \(VectorField.dense) requires a metric.")
        }
        return IndexCreation(
            name: name ?? "index-\(UUID().lowercasedString.prefix(8))",
            vectorType: vectorType,
            dimension: dense?.dimension,
            metric: vectorType == .dense ? try WireEnum.parse(dense?.metric, field: "schema.fields._values.metric", as: Metric.self) : nil,
            deletionProtection: try WireEnum.parse(deletion_protection, field: "deletion_protection", as: DeletionProtection.self) ?? .disabled,
            tags: tags ?? [:],
            deployment: try deployment?.domain() ?? .defaultServerless,
            readCapacity: try read_capacity?.domain() ?? .onDemand,
            cmekID: cmekID,
            vectorEncoding: try WireEnum.parse(deployment?.vector_encoding, field: "deployment.vector_encoding", as: VectorEncoding.self)
        )
    }
}

struct ConfigureIndexRequest2026: Decodable {
    struct DeploymentPatch: Decodable {
        var replicas: Int?
        var pod_type: String?
    }

    static let allowedKeys: Set<String> = ["deployment", "schema", "read_capacity", "tags", "deletion_protection", "name", "dimension", "metric", "vector_type"]

    var deployment: DeploymentPatch?
    var schema: [String: [String: [String: String]]]?
    var read_capacity: ReadCapacityRequest?
    var tags: [String: String]?
    var deletion_protection: String?
    /// Fields fixed at creation: sent here they are refused with 400, as Pinecone does.
    var name: JSONValue?
    var dimension: JSONValue?
    var metric: JSONValue?
    var vector_type: JSONValue?

    func domain() throws(ConiferError) -> IndexConfiguration {
        try ImmutableIndexFields.reject(["name": name, "dimension": dimension, "metric": metric, "vector_type": vector_type])
        if schema != nil {
            throw .invalidArgument("Integrated embedding is not available in Conifer; the schema of a vectors-API index cannot be configured.")
        }
        return IndexConfiguration(
            deletionProtection: try WireEnum.parse(deletion_protection, field: "deletion_protection", as: DeletionProtection.self),
            tags: tags,
            podReplicas: deployment?.replicas,
            podType: deployment?.pod_type,
            readCapacity: try read_capacity?.domain()
        )
    }
}

/// `IndexModel` of API 2026-07.
struct IndexModel2026: Encodable {
    var definition: IndexDefinition
    var host: String
    var privateHost: String?

    enum Keys: String, CodingKey {
        case name, host, private_host, status, deployment, read_capacity, schema, tags, deletion_protection, cmek_id
        case deployment_type, cloud, region, environment, pod_type, replicas, shards, vector_encoding
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(definition.name, forKey: .name)
        try container.encode(host, forKey: .host)
        try container.encodeIfPresent(privateHost, forKey: .private_host)
        try container.encode(IndexStatusWire(definition), forKey: .status)
        var deployment = container.nestedContainer(keyedBy: Keys.self, forKey: .deployment)
        switch definition.deployment {
        case .serverless(let cloud, let region):
            try deployment.encode("managed", forKey: .deployment_type)
            try deployment.encode(cloud, forKey: .cloud)
            try deployment.encode(region, forKey: .region)
            try container.encode(ReadCapacityResponse(definition.readCapacity), forKey: .read_capacity)
        case .pod(let environment, let podType, let replicas, let shards, _):
            try deployment.encode("pod", forKey: .deployment_type)
            try deployment.encode(environment, forKey: .environment)
            try deployment.encode(podType, forKey: .pod_type)
            try deployment.encode(replicas, forKey: .replicas)
            try deployment.encode(shards, forKey: .shards)
        case .byoc(let environment):
            try deployment.encode("byoc", forKey: .deployment_type)
            try deployment.encode(environment, forKey: .environment)
            try container.encode(ReadCapacityResponse(definition.readCapacity), forKey: .read_capacity)
        }
        // Conifer's own setting, shown only where it differs from the default.
        if definition.vectorEncoding != .float32 { try deployment.encode(definition.vectorEncoding.rawValue, forKey: .vector_encoding) }
        try container.encode(IndexSchemaWire(definition), forKey: .schema)
        try container.encode(definition.tags.isEmpty ? nil : definition.tags, forKey: .tags)
        try container.encode(definition.deletionProtection.rawValue, forKey: .deletion_protection)
        try container.encodeIfPresent(definition.cmekID?.lowercasedString, forKey: .cmek_id)
    }
}

/// The `schema` of an index (or of the index a backup was taken of) in API 2026-07: its vector fields.
struct IndexSchemaWire: Encodable {
    var definition: IndexDefinition

    init(_ definition: IndexDefinition) { self.definition = definition }

    enum Keys: String, CodingKey { case fields, type, dimension, metric }

    func encode(to encoder: any Encoder) throws {
        var schema = encoder.container(keyedBy: Keys.self)
        var fields = schema.nestedContainer(keyedBy: FieldName.self, forKey: .fields)
        if definition.vectorType == .dense, let dimension = definition.dimension {
            var dense = fields.nestedContainer(keyedBy: Keys.self, forKey: FieldName(VectorField.dense))
            try dense.encode("dense_vector", forKey: .type)
            try dense.encode(dimension, forKey: .dimension)
            try dense.encode(definition.metric.rawValue, forKey: .metric)
        }
        // The 2026-07 spec: dense vectors-API indexes report both fields, sparse ones only the sparse field.
        var sparse = fields.nestedContainer(keyedBy: Keys.self, forKey: FieldName(VectorField.sparse))
        try sparse.encode("sparse_vector", forKey: .type)
    }
}

/// A coding key for dynamic names, such as schema field names.
struct FieldName: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Index settings that cannot change after creation.
enum ImmutableIndexFields {
    static func reject(_ fields: [String: JSONValue?]) throws(ConiferError) {
        if let field = fields.filter({ $0.value != nil }).keys.sorted().first {
            throw .invalidArgument("The index's \(field) cannot be changed after it is created; create a new index instead.")
        }
    }
}
