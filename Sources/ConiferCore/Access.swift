import Foundation

/// The roles a project API key can hold (Pinecone's closed enum).
public enum APIKeyRole: String, Codable, Sendable, CaseIterable {
    case projectEditor = "ProjectEditor"
    case projectViewer = "ProjectViewer"
    case controlPlaneEditor = "ControlPlaneEditor"
    case controlPlaneViewer = "ControlPlaneViewer"
    case dataPlaneEditor = "DataPlaneEditor"
    case dataPlaneViewer = "DataPlaneViewer"

    /// The permissions this role grants inside its project.
    public var permissions: Set<Permission> {
        switch self {
        case .projectEditor: [.indexesRead, .indexesWrite, .dataRead, .dataWrite]
        case .projectViewer: [.indexesRead, .dataRead]
        case .controlPlaneEditor: [.indexesRead, .indexesWrite]
        case .controlPlaneViewer: [.indexesRead]
        case .dataPlaneEditor: [.dataRead, .dataWrite]
        case .dataPlaneViewer: [.dataRead]
        }
    }
}

/// What a route needs from its caller inside the caller's project.
public enum Permission: String, Codable, Sendable, CaseIterable {
    /// List and describe indexes.
    case indexesRead = "indexes:read"
    /// Create, configure and delete indexes.
    case indexesWrite = "indexes:write"
    /// Query, fetch, list and read statistics.
    case dataRead = "data:read"
    /// Upsert, update and delete records.
    case dataWrite = "data:write"
}

/// An authenticated caller. Every catalog and storage entry point takes one, so nothing is reached without it.
public struct Principal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case apiKey(id: UUID, roles: Set<APIKeyRole>)
    }

    public var kind: Kind
    public var projectID: UUID
    public var organizationID: UUID

    public init(kind: Kind, projectID: UUID, organizationID: UUID) {
        self.kind = kind
        self.projectID = projectID
        self.organizationID = organizationID
    }

    /// Every permission the principal holds in its project.
    public var permissions: Set<Permission> {
        switch kind {
        case .apiKey(_, let roles): roles.reduce(into: []) { $0.formUnion($1.permissions) }
        }
    }

    /// Throws 403 unless the principal holds `permission`.
    public func require(_ permission: Permission) throws(ConiferError) {
        guard permissions.contains(permission) else {
            throw .permissionDenied("The API key does not have the permission this request needs (\(permission.rawValue)).")
        }
    }
}
