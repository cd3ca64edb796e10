import ConiferCore
import Foundation

/// Stores and loads the catalog's rows and decides nothing: the policy lives in `AdminService`. A
/// PostgreSQL catalog (ARCHITECTURE.md §6) implements this beside the SQLite one.
protocol CatalogStore: Sendable {
    /// Runs `work` in one read transaction.
    func read<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T
    /// Runs `work` in one write transaction: every change in it commits together or not at all.
    func write<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T
}

/// Which role bindings to load; nil matches anything.
struct BindingQuery {
    var principalType: RoleBindingInfo.PrincipalType?
    var principalID: String?
    var resourceType: RoleBindingInfo.ResourceType?
    var resourceID: String?
    var role: MembershipRole?
}

/// The rows of the catalog inside one transaction. Ids are lowercase UUID strings.
protocol CatalogRows {
    func organization(_ id: String) throws -> OrganizationRow?
    func firstOrganization() throws -> OrganizationRow?
    func save(_ row: OrganizationRow) throws
    /// Removes the organization with its service accounts, invites and role bindings (its projects must be gone).
    func delete(_ row: OrganizationRow) throws

    func project(_ id: String) throws -> ProjectRow?
    /// Projects of an organization, oldest first.
    func projects(organization: String) throws -> [ProjectRow]
    func save(_ row: ProjectRow) throws
    /// Deletes a project, its API keys and the role bindings on it.
    func delete(_ row: ProjectRow) throws
    func indexCount(project: String) throws -> Int
    func backupCount(project: String) throws -> Int
    /// Deletes the project's backups (their data keys with them); returns their ids, for their files.
    func deleteBackups(project: String) throws -> [UUID]
    func indexes(project: String) throws -> [IndexDefinition]
    func deleteIndex(_ id: UUID) throws

    /// The project's customer-managed key (at most one), its external id unsealed.
    func cmekKey(project: String) throws -> CMEKKey?
    func insert(_ key: CMEKKey) throws
    func deleteCMEKKey(_ id: UUID) throws

    /// The project's private endpoints, oldest first.
    func privateEndpoints(project: String) throws -> [PrivateEndpoint]
    func insert(_ endpoint: PrivateEndpoint) throws
    func deletePrivateEndpoint(_ id: UUID) throws

    func apiKey(_ id: String) throws -> APIKeyRow?
    func apiKeys(project: String) throws -> [APIKeyRow]
    func save(_ row: APIKeyRow) throws
    func delete(_ row: APIKeyRow) throws

    func serviceAccount(_ id: String) throws -> ServiceAccountRow?
    func serviceAccount(clientID: String) throws -> ServiceAccountRow?
    func serviceAccounts(organization: String) throws -> [ServiceAccountRow]
    func save(_ row: ServiceAccountRow) throws
    /// Deletes a service account and every role binding it holds.
    func delete(_ row: ServiceAccountRow) throws

    func roleBinding(_ id: String) throws -> RoleBindingRow?
    /// Bindings matching `query`, oldest first.
    func roleBindings(_ query: BindingQuery) throws -> [RoleBindingRow]
    /// Inserts a binding, replacing the principal's previous binding on the same resource.
    func replace(_ row: RoleBindingRow) throws
    func delete(_ row: RoleBindingRow) throws

    func user(_ id: String) throws -> UserRow?
    func user(email: String) throws -> UserRow?
    /// The users with these ids, by email.
    func users(_ ids: [String]) throws -> [UserRow]
    func save(_ row: UserRow) throws

    func invite(_ id: String) throws -> InviteRow?
    func invite(tokenHash: String) throws -> InviteRow?
    func invites(organization: String) throws -> [InviteRow]
    func save(_ row: InviteRow) throws
    func delete(_ row: InviteRow) throws
}
