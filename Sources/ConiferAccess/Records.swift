import ConiferCore
import Foundation
import GRDB

// Plain Codable rows of the catalog. Ids are UUIDs, stored as lowercase text (as the Admin API shows them, and as
// every data directory has stored them).

/// A row of the catalog: GRDB stores its UUIDs as lowercase text.
protocol CatalogRecord: Codable, FetchableRecord, PersistableRecord {}

extension CatalogRecord {
    static func databaseUUIDEncodingStrategy(for column: String) -> DatabaseUUIDEncodingStrategy { .lowercaseString }
}

struct OrganizationRow: CatalogRecord {
    static let databaseTableName = "organization"
    var id: UUID
    var name: String
    var plan: Plan
    var createdAt: Date
    /// Who receives invoices (`BillingContact`, personal data): sealed JSON, nil until set. Read and set through
    /// `CatalogRows.billingContact(of:)` and `setBillingContact(_:of:)`.
    var sealedBillingContact: Data?

    /// Typed column names for queries.
    enum Columns {
        static let createdAt = Column(CodingKeys.createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, plan
        case createdAt = "created_at"
        case sealedBillingContact = "billing_contact"
    }
}

struct ProjectRow: CatalogRecord {
    static let databaseTableName = "project"
    var id: UUID
    var organizationID: UUID
    var name: String
    var createdAt: Date
    var maxPods: Int = 0
    var forceEncryptionWithCMEK = false
    var privateEndpointAccessOnly = false
    /// The project's tags: customer free text, sealed (`ColumnSealer`) as JSON; nil when it has none. Read and set
    /// through `CatalogRows.tags(of:)` and `setTags(_:of:)`.
    var sealedTags: Data?

    /// Typed column names for queries.
    enum Columns {
        static let organizationID = Column(CodingKeys.organizationID)
        static let createdAt = Column(CodingKeys.createdAt)
        static let name = Column(CodingKeys.name)
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case organizationID = "organization_id"
        case createdAt = "created_at"
        case maxPods = "max_pods"
        case forceEncryptionWithCMEK = "force_encryption_with_cmek"
        case privateEndpointAccessOnly = "private_endpoint_access_only"
        case sealedTags = "tags"
    }
}

struct ServiceAccountRow: CatalogRecord {
    static let databaseTableName = "service_account"
    var id: UUID
    var organizationID: UUID
    var name: String
    var clientID: String
    var secretHash: String
    var secretGeneration: Int
    var createdAt: Date
    var updatedAt: Date

    /// Typed column names for queries.
    enum Columns {
        static let organizationID = Column(CodingKeys.organizationID)
        static let clientID = Column(CodingKeys.clientID)
        static let createdAt = Column(CodingKeys.createdAt)
    }

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

struct RoleBindingRow: CatalogRecord {
    static let databaseTableName = "role_binding"
    var id: UUID
    var principalType: RoleBindingInfo.PrincipalType
    var principalID: UUID
    var resourceType: RoleBindingInfo.ResourceType
    var resourceID: UUID
    var role: MembershipRole
    var createdAt: Date

    /// Typed column names for queries.
    enum Columns {
        static let principalType = Column(CodingKeys.principalType)
        static let principalID = Column(CodingKeys.principalID)
        static let resourceType = Column(CodingKeys.resourceType)
        static let resourceID = Column(CodingKeys.resourceID)
        static let role = Column(CodingKeys.role)
        static let createdAt = Column(CodingKeys.createdAt)
        static let id = Column(CodingKeys.id)
    }

    enum CodingKeys: String, CodingKey {
        case id, role
        case principalType = "principal_type"
        case principalID = "principal_id"
        case resourceType = "resource_type"
        case resourceID = "resource_id"
        case createdAt = "created_at"
    }
}

struct APIKeyRow: CatalogRecord {
    static let databaseTableName = "api_key"
    var id: UUID
    var projectID: UUID
    var name: String
    var label: String
    var secretHash: String
    var roles: [APIKeyRole]
    var createdAt: Date

    /// Typed column names for queries.
    enum Columns {
        static let projectID = Column(CodingKeys.projectID)
        static let secretHash = Column(CodingKeys.secretHash)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, label, roles
        case projectID = "project_id"
        case secretHash = "secret_hash"
        case createdAt = "created_at"
    }
}

struct IndexRow: CatalogRecord {
    static let databaseTableName = "index_definition"
    var id: UUID
    var projectID: UUID
    var name: String
    var vectorType: VectorType
    var dimension: Int?
    var metric: Metric
    var deletionProtection: DeletionProtection
    /// Customer free text: sealed (`ColumnSealer`), as JSON.
    var tags: Data
    var deployment: Deployment
    var readCapacity: ReadCapacity
    var createdAt: Date
    var cmekID: UUID?
    var restoreJobID: UUID?
    var vectorEncoding: VectorEncoding
    var home: String?

    /// Typed column names for queries.
    enum Columns {
        static let projectID = Column(CodingKeys.projectID)
        static let name = Column(CodingKeys.name)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, dimension, metric, tags, deployment
        case cmekID = "cmek_id"
        case restoreJobID = "restore_job_id"
        case projectID = "project_id"
        case vectorType = "vector_type"
        case deletionProtection = "deletion_protection"
        case readCapacity = "read_capacity"
        case createdAt = "created_at"
        case vectorEncoding = "vector_encoding"
        case home
    }

    init(_ definition: IndexDefinition, _ sealer: ColumnSealer) throws {
        id = definition.id
        projectID = definition.projectID
        name = definition.name
        vectorType = definition.vectorType
        dimension = definition.dimension
        metric = definition.metric
        deletionProtection = definition.deletionProtection
        tags = try sealer.seal(json: definition.tags, .indexTags)
        deployment = definition.deployment
        readCapacity = definition.readCapacity
        createdAt = definition.createdAt
        cmekID = definition.cmekID
        restoreJobID = definition.restoreJobID
        vectorEncoding = definition.vectorEncoding
        home = definition.home
    }

    func definition(_ sealer: ColumnSealer) throws -> IndexDefinition {
        var definition = IndexDefinition(
            id: id, projectID: projectID, name: name, vectorType: vectorType, dimension: dimension,
            metric: metric, deletionProtection: deletionProtection, tags: try sealer.open(json: tags, as: [String: String].self, .indexTags),
            deployment: deployment,
            readCapacity: readCapacity, createdAt: createdAt, cmekID: cmekID
        )
        definition.restoreJobID = restoreJobID
        definition.vectorEncoding = vectorEncoding
        definition.home = home
        return definition
    }
}

/// A project's customer-managed key; `externalID` is sealed (`ColumnSealer`).
struct CMEKKeyRow: CatalogRecord {
    static let databaseTableName = "cmek_key"
    var id: UUID
    var projectID: UUID
    var name: String
    var roleARN: String?
    var keyARN: String
    var externalID: Data?
    var createdAt: Date

    enum Columns {
        static let projectID = Column(CodingKeys.projectID)
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case projectID = "project_id"
        case roleARN = "role_arn"
        case keyARN = "key_arn"
        case externalID = "external_id"
        case createdAt = "created_at"
    }
}

struct UserRow: CatalogRecord {
    static let databaseTableName = "user"
    var id: UUID
    var email: String
    var name: String?
    var passwordHash: String?
    var passwordGeneration: Int
    var createdAt: Date

    /// Typed column names for queries.
    enum Columns {
        static let email = Column(CodingKeys.email)
    }

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
extension RoleBindingInfo.PrincipalType: Codable {}

/// Where an invite stands; `expired` is stored once an acceptance finds it expired (and shown for a
/// pending invite past its expiry).
public enum InviteStatus: String, Codable, Sendable {
    case pending, expired, processed
}

struct InviteRow: CatalogRecord {
    static let databaseTableName = "invite"
    var id: UUID
    var organizationID: UUID
    var email: String
    var tokenHash: String
    var roleBindings: [InviteBinding]
    var status: InviteStatus
    var expiresAt: Date
    var createdAt: Date
    var processedAt: Date?

    /// Typed column names for queries.
    enum Columns {
        static let organizationID = Column(CodingKeys.organizationID)
        static let tokenHash = Column(CodingKeys.tokenHash)
        static let createdAt = Column(CodingKeys.createdAt)
    }

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

struct PrivateEndpointRow: CatalogRecord {
    static let databaseTableName = "private_endpoint"
    var id: UUID
    var projectID: UUID
    var name: String
    var region: String
    var vpcEndpointID: String?
    var allowedCIDRs: [String]
    var createdAt: Date

    enum Columns {
        static let projectID = Column(CodingKeys.projectID)
        static let region = Column(CodingKeys.region)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, region
        case projectID = "project_id"
        case vpcEndpointID = "vpc_endpoint_id"
        case allowedCIDRs = "allowed_cidrs"
        case createdAt = "created_at"
    }
}
