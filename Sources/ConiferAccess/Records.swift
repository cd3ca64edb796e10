import ConiferCore
import Foundation
import GRDB

// Plain Codable rows of the catalog. Ids are lowercase UUID strings, as the Admin API shows them.

struct OrganizationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "organization"
    var id: String
    var name: String
    var plan: String
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, plan
        case createdAt = "created_at"
    }
}

struct ProjectRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "project"
    var id: String
    var organizationID: String
    var name: String
    var createdAt: Date
    var maxPods: Int = 0
    var forceEncryptionWithCMEK = false

    enum CodingKeys: String, CodingKey {
        case id, name
        case organizationID = "organization_id"
        case createdAt = "created_at"
        case maxPods = "max_pods"
        case forceEncryptionWithCMEK = "force_encryption_with_cmek"
    }
}

struct ServiceAccountRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "service_account"
    var id: String
    var organizationID: String
    var name: String
    var clientID: String
    var secretHash: String
    var secretGeneration: Int
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name
        case organizationID = "organization_id"
        case clientID = "client_id"
        case secretHash = "secret_hash"
        case secretGeneration = "secret_generation"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

struct RoleBindingRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "role_binding"
    var id: String
    var principalType: String
    var principalID: String
    var resourceType: String
    var resourceID: String
    var role: String
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, role
        case principalType = "principal_type"
        case principalID = "principal_id"
        case resourceType = "resource_type"
        case resourceID = "resource_id"
        case createdAt = "created_at"
    }
}

struct APIKeyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "api_key"
    var id: String
    var projectID: String
    var name: String
    var label: String
    var secretHash: String
    var roles: [APIKeyRole]
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, label, roles
        case projectID = "project_id"
        case secretHash = "secret_hash"
        case createdAt = "created_at"
    }
}

struct IndexRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "index_definition"
    var id: String
    var projectID: String
    var name: String
    var vectorType: VectorType
    var dimension: Int?
    var metric: Metric
    var deletionProtection: DeletionProtection
    var tags: [String: String]
    var deployment: Deployment
    var readCapacity: ReadCapacity
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, dimension, metric, tags, deployment
        case projectID = "project_id"
        case vectorType = "vector_type"
        case deletionProtection = "deletion_protection"
        case readCapacity = "read_capacity"
        case createdAt = "created_at"
    }

    init(_ definition: IndexDefinition) {
        id = definition.id.lowercasedString
        projectID = definition.projectID.lowercasedString
        name = definition.name
        vectorType = definition.vectorType
        dimension = definition.dimension
        metric = definition.metric
        deletionProtection = definition.deletionProtection
        tags = definition.tags
        deployment = definition.deployment
        readCapacity = definition.readCapacity
        createdAt = definition.createdAt
    }

    func definition() throws -> IndexDefinition {
        guard let id = UUID(uuidString: id), let projectID = UUID(uuidString: projectID) else {
            throw ConiferError(.internalError, "Corrupt index row \(name)")
        }
        return IndexDefinition(
            id: id, projectID: projectID, name: name, vectorType: vectorType, dimension: dimension,
            metric: metric, deletionProtection: deletionProtection, tags: tags, deployment: deployment,
            readCapacity: readCapacity, createdAt: createdAt
        )
    }
}

extension UUID {
    /// The form ids take on the wire and in the catalog.
    public var lowercasedString: String { uuidString.lowercased() }
}

struct UserRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "user"
    var id: String
    var email: String
    var name: String?
    var passwordHash: String?
    var passwordGeneration: Int
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, name
        case passwordHash = "password_hash"
        case passwordGeneration = "password_generation"
        case createdAt = "created_at"
    }
}

/// A role an invite grants on acceptance.
public struct InviteBinding: Codable, Sendable, Equatable {
    public var resourceType: RoleBindingInfo.ResourceType
    public var resourceID: UUID?
    public var role: String

    public init(resourceType: RoleBindingInfo.ResourceType, resourceID: UUID?, role: String) {
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.role = role
    }
}

extension RoleBindingInfo.ResourceType: Codable {}

struct InviteRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "invite"
    var id: String
    var organizationID: String
    var email: String
    var tokenHash: String
    var roleBindings: [InviteBinding]
    var status: String
    var expiresAt: Date
    var createdAt: Date
    var processedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, email, status
        case organizationID = "organization_id"
        case tokenHash = "token_hash"
        case roleBindings = "role_bindings"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
        case processedAt = "processed_at"
    }
}
