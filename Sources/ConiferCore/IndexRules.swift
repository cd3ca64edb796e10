import Foundation

/// What a client asks for when it creates an index, after its API dialect has been translated away.
public struct IndexCreation: Sendable, Equatable {
    public var name: String
    public var vectorType: VectorType
    public var dimension: Int?
    public var metric: Metric?
    public var deletionProtection: DeletionProtection
    public var tags: [String: String]
    public var deployment: Deployment
    public var readCapacity: ReadCapacity
    /// The customer-managed key the request names (API 2026-07 `cmek_id`): it must be the project's.
    public var cmekID: UUID?
    /// The collection whose records the new index starts with (`spec.pod.source_collection`).
    public var sourceCollection: String?
    /// The restore job that fills the new index from a backup (the index is not ready until it completes).
    public var restoreJobID: UUID?
    /// What the graph is walked on (dense indexes; float32 unless asked).
    public var vectorEncoding: VectorEncoding?
    /// The server that will hold the index's files (`IndexDefinition.home`); set by the server, never by a request.
    public var home: String?

    public init(
        name: String,
        vectorType: VectorType = .dense,
        dimension: Int? = nil,
        metric: Metric? = nil,
        deletionProtection: DeletionProtection = .disabled,
        tags: [String: String] = [:],
        deployment: Deployment = .defaultServerless,
        readCapacity: ReadCapacity = .onDemand,
        cmekID: UUID? = nil,
        sourceCollection: String? = nil,
        restoreJobID: UUID? = nil,
        vectorEncoding: VectorEncoding? = nil
    ) {
        self.vectorEncoding = vectorEncoding
        self.cmekID = cmekID
        self.sourceCollection = sourceCollection
        self.restoreJobID = restoreJobID
        self.name = name
        self.vectorType = vectorType
        self.dimension = dimension
        self.metric = metric
        self.deletionProtection = deletionProtection
        self.tags = tags
        self.deployment = deployment
        self.readCapacity = readCapacity
    }
}

extension IndexCreation {
    /// The creation of an index like `source` (a backup's), named `name`: the same shape and deployment, with
    /// the request's tags (the source's when it gives none) and deletion protection. It goes through the same
    /// rules as any creation (plan, quotas, pods, CMEK), so a restore can do nothing a create could not.
    public init(restoring source: IndexDefinition, name: String, tags: [String: String]?, deletionProtection: DeletionProtection?, job: UUID) {
        self.init(
            name: name, vectorType: source.vectorType, dimension: source.dimension, metric: source.metric,
            deletionProtection: deletionProtection ?? .disabled, tags: tags ?? source.tags, deployment: source.deployment,
            readCapacity: source.readCapacity, restoreJobID: job, vectorEncoding: source.vectorEncoding
        )
    }
}

/// What a client asks to change on an existing index (`PATCH /indexes/{name}`); `nil` leaves a setting as it is.
public struct IndexConfiguration: Sendable, Equatable {
    public var deletionProtection: DeletionProtection?
    /// Tags to merge; an empty value removes that tag.
    public var tags: [String: String]?
    public var podReplicas: Int?
    public var podType: String?
    public var readCapacity: ReadCapacity?

    public init(
        deletionProtection: DeletionProtection? = nil,
        tags: [String: String]? = nil,
        podReplicas: Int? = nil,
        podType: String? = nil,
        readCapacity: ReadCapacity? = nil
    ) {
        self.deletionProtection = deletionProtection
        self.tags = tags
        self.podReplicas = podReplicas
        self.podType = podType
        self.readCapacity = readCapacity
    }
}

/// Pinecone's documented limits for index definitions, and the checks that enforce them.
public enum IndexRules {
    public static let maxNameLength = 45
    public static let dimensionRange = 1...20_000
    public static let maxTags = 20
    public static let maxTagKeyLength = 80
    public static let maxTagValueLength = 120
    public static let clouds: Set<String> = ["aws", "gcp", "azure"]
    public static let dedicatedNodeTypes: Set<String> = ["b1", "t1"]

    /// Checks an index (or backup, or collection) name: 1–45 characters, lowercase alphanumerics or '-',
    /// starting and ending alphanumeric.
    public static func validateName(_ name: String, what: String = "index") throws(ConiferError) {
        let bytes = Array(name.utf8)
        func isAlnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard !bytes.isEmpty, bytes.count <= maxNameLength,
              bytes.allSatisfy({ isAlnum($0) || $0 == 45 }),
              let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last)
        else {
            throw .invalidArgument(
                "Invalid \(what) name '\(name.prefix(64))': it must be 1 to \(maxNameLength) characters long, "
                    + "consist of lowercase alphanumeric characters or '-', and start and end with an alphanumeric character."
            )
        }
    }

    /// Checks tags as given in a request. On configure an empty value means "remove this tag".
    public static func validateTags(_ tags: [String: String], of owner: String = "an index") throws(ConiferError) {
        guard tags.count <= maxTags else {
            throw .invalidArgument("Too many tags: \(owner) may have at most \(maxTags) tags, got \(tags.count).")
        }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            let keyOK = !key.isEmpty && key.utf8.count <= maxTagKeyLength
                && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
            guard keyOK else {
                throw .invalidArgument(
                    "Invalid tag key '\(key.prefix(100))': keys must be 1 to \(maxTagKeyLength) characters of letters, digits, '_' or '-'."
                )
            }
            guard value.count <= maxTagValueLength else {
                throw .invalidArgument("Tag value for '\(key)' is longer than \(maxTagValueLength) characters.")
            }
        }
    }

    static func validate(_ deployment: Deployment, vectorType: VectorType) throws(ConiferError) {
        switch deployment {
        case .serverless(let cloud, let region):
            guard clouds.contains(cloud) else {
                throw .invalidArgument("Invalid cloud '\(cloud.prefix(64))': expected one of aws, gcp, azure.")
            }
            guard !region.isEmpty, region.count <= 64 else { throw .invalidArgument("A region is required.") }
        case .pod(let environment, let podType, let replicas, let shards, let pods):
            guard vectorType == .dense else {
                throw .invalidArgument("Sparse indexes are only supported on serverless deployments.")
            }
            guard !environment.isEmpty, environment.count <= 64 else { throw .invalidArgument("A pod environment is required.") }
            try validatePodType(podType)
            guard replicas >= 1, shards >= 1, pods >= 1 else {
                throw .invalidArgument("Pod replicas, shards and pods must each be at least 1.")
            }
        case .byoc(let environment):
            guard !environment.isEmpty, environment.count <= 64 else { throw .invalidArgument("A BYOC environment is required.") }
        }
    }

    static func validatePodType(_ podType: String) throws(ConiferError) {
        let kinds = ["s1", "p1", "p2"]
        let sizes = ["x1", "x2", "x4", "x8"]
        let parts = podType.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, kinds.contains(String(parts[0])), sizes.contains(String(parts[1])) else {
            throw .invalidArgument("Invalid pod type '\(podType.prefix(32))': expected one of s1, p1, p2 with size x1, x2, x4 or x8 (for example p1.x1).")
        }
    }

    static func validate(_ readCapacity: ReadCapacity) throws(ConiferError) {
        switch readCapacity.mode {
        case .onDemand:
            return
        case .dedicated:
            guard let nodeType = readCapacity.nodeType, dedicatedNodeTypes.contains(nodeType) else {
                throw .invalidArgument("Dedicated read capacity needs node_type b1 or t1.")
            }
            guard (readCapacity.replicas ?? 1) >= 0, (readCapacity.shards ?? 1) >= 1 else {
                throw .invalidArgument("Dedicated read capacity needs replicas ≥ 0 and shards ≥ 1.")
            }
        }
    }

    /// Validates a creation request and turns it into the stored definition.
    public static func definition(
        for creation: IndexCreation,
        projectID: UUID,
        id: UUID = UUID(),
        now: Date = Date()
    ) throws(ConiferError) -> IndexDefinition {
        try validateName(creation.name)
        try validateTags(creation.tags)
        try validate(creation.deployment, vectorType: creation.vectorType)
        try validate(creation.readCapacity)
        let metric: Metric
        let dimension: Int?
        switch creation.vectorType {
        case .dense:
            guard let requested = creation.dimension else {
                throw .invalidArgument("Dense indexes require a dimension.")
            }
            guard dimensionRange.contains(requested) else {
                throw .invalidArgument(
                    "Invalid dimension \(requested): it must be between \(dimensionRange.lowerBound) and \(dimensionRange.upperBound)."
                )
            }
            dimension = requested
            metric = creation.metric ?? .cosine
        case .sparse:
            guard creation.dimension == nil else {
                throw .invalidArgument("Sparse indexes must not have a dimension.")
            }
            guard creation.metric == nil || creation.metric == .dotproduct else {
                throw .invalidArgument("Sparse indexes must use the metric dotproduct.")
            }
            guard (creation.vectorEncoding ?? .float32) == .float32 else {
                throw .invalidArgument("vector_encoding int8 applies to dense vectors; a sparse index keeps its values as they are.")
            }
            dimension = nil
            metric = .dotproduct
        }
        var definition = IndexDefinition(
            id: id,
            projectID: projectID,
            name: creation.name,
            vectorType: creation.vectorType,
            dimension: dimension,
            metric: metric,
            deletionProtection: creation.deletionProtection,
            tags: creation.tags.filter { !$0.value.isEmpty },
            deployment: creation.deployment,
            readCapacity: creation.readCapacity,
            createdAt: now
        )
        definition.vectorEncoding = creation.vectorEncoding ?? .float32
        definition.home = creation.home
        return definition
    }
}

extension IndexDefinition {
    /// Applies a configure request, validating it first; on error nothing changes.
    public func configured(with change: IndexConfiguration) throws(ConiferError) -> IndexDefinition {
        var next = self
        if let protection = change.deletionProtection {
            next.deletionProtection = protection
        }
        if let tags = change.tags {
            try IndexRules.validateTags(tags)
            for (key, value) in tags {
                next.tags[key] = value.isEmpty ? nil : value
            }
            guard next.tags.count <= IndexRules.maxTags else {
                throw .invalidArgument("Too many tags: an index may have at most \(IndexRules.maxTags) tags.")
            }
        }
        if change.podReplicas != nil || change.podType != nil {
            guard case .pod(let environment, let podType, let replicas, let shards, let pods) = deployment else {
                throw .invalidArgument("Replicas and pod type can only be configured on pod-based indexes.")
            }
            let newReplicas = change.podReplicas ?? replicas
            let newType = change.podType ?? podType
            guard newReplicas >= 1 else { throw .invalidArgument("Replicas must be at least 1.") }
            try IndexRules.validatePodType(newType)
            next.deployment = .pod(environment: environment, podType: newType, replicas: newReplicas, shards: shards, pods: pods)
        }
        if let readCapacity = change.readCapacity {
            if case .pod = deployment {
                throw .invalidArgument("Read capacity can only be configured on serverless or BYOC indexes.")
            }
            try IndexRules.validate(readCapacity)
            next.readCapacity = readCapacity
        }
        return next
    }
}
