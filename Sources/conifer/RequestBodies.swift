/// The JSON bodies the command-line client sends, as Codable values (nil members are left out).

struct TokenRequest: Encodable {
    var grantType: String
    var clientID: String?
    var clientSecret: String?
    var username: String?
    var password: String?

    static func clientCredentials(_ id: String, _ secret: String) -> TokenRequest {
        TokenRequest(grantType: "client_credentials", clientID: id, clientSecret: secret)
    }

    static func password(_ email: String, _ password: String) -> TokenRequest {
        TokenRequest(grantType: "password", username: email, password: password)
    }

    enum CodingKeys: String, CodingKey {
        case grantType = "grant_type", clientID = "client_id", clientSecret = "client_secret", username, password
    }
}

struct ProjectBody: Encodable {
    var name: String?
    var maxPods: Int?
    var forceEncryptionWithCMEK: Bool?
    var privateEndpointAccessOnly: Bool?

    enum CodingKeys: String, CodingKey {
        case name, maxPods = "max_pods", forceEncryptionWithCMEK = "force_encryption_with_cmek"
        case privateEndpointAccessOnly = "private_endpoint_access_only"
    }
}

struct PrivateEndpointBody: Encodable {
    var name: String
    var region: String
    var vpcEndpointID: String?
    var allowedCIDRs: [String]?

    enum CodingKeys: String, CodingKey {
        case name, region, vpcEndpointID = "vpc_endpoint_id", allowedCIDRs = "allowed_cidrs"
    }
}

struct APIKeyBody: Encodable {
    var name: String?
    var roles: [String]?
}

struct NameBody: Encodable {
    var name: String
}

struct CreateIndexBody: Encodable {
    struct Spec: Encodable {
        struct Serverless: Encodable { var cloud: String, region: String }
        var serverless: Serverless
    }

    var name: String
    var vectorType: String
    var deletionProtection: String
    var spec: Spec
    var dimension: Int?
    var metric: String?
    var tags: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name, spec, dimension, metric, tags, vectorType = "vector_type", deletionProtection = "deletion_protection"
    }
}

struct ConfigureIndexBody: Encodable {
    var deletionProtection: String?
    var tags: [String: String]?

    enum CodingKeys: String, CodingKey {
        case tags, deletionProtection = "deletion_protection"
    }
}

/// A role on the organization (no resource id) or on a project.
struct RoleBindingInput: Encodable {
    var resourceType: String
    var resourceID: String?
    var role: String

    static func organization(_ role: String) -> RoleBindingInput { RoleBindingInput(resourceType: "organization", role: role) }
    static func project(_ id: String, _ role: String) -> RoleBindingInput { RoleBindingInput(resourceType: "project", resourceID: id, role: role) }

    enum CodingKeys: String, CodingKey {
        case role, resourceType = "resource_type", resourceID = "resource_id"
    }
}

struct RoleBindingBody: Encodable {
    var principalType: String
    var principalID: String
    var binding: RoleBindingInput

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(principalType, forKey: .principalType)
        try container.encode(principalID, forKey: .principalID)
        try binding.encode(to: encoder)
    }

    enum CodingKeys: String, CodingKey {
        case principalType = "principal_type", principalID = "principal_id"
    }
}

struct ServiceAccountBody: Encodable {
    var name: String
    var roleBindings: [RoleBindingInput]

    enum CodingKeys: String, CodingKey {
        case name, roleBindings = "role_bindings"
    }
}

struct InviteBody: Encodable {
    var email: String
    var roleBindings: [RoleBindingInput]

    enum CodingKeys: String, CodingKey {
        case email, roleBindings = "role_bindings"
    }
}
