import ConiferCore
import Foundation
import GRDB

extension SQLiteCatalog: CatalogStore {
    func read<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T {
        try await database.read { db in try work(SQLiteRows(db: db, sealer: sealer, blocks: parsedBlocks)) }
    }

    func write<T: Sendable>(_ work: @escaping @Sendable (any CatalogRows) throws -> T) async throws -> T {
        try await writeChange { db in try work(SQLiteRows(db: db, sealer: sealer, blocks: parsedBlocks)) }
    }
}

/// The catalog's rows in one GRDB transaction.
struct SQLiteRows: CatalogRows {
    let db: Database
    let sealer: ColumnSealer
    /// Parsed address blocks of private endpoints, kept across transactions (the data plane reads them per request).
    let blocks: ParsedBlocks

    func organization(_ id: UUID) throws -> OrganizationRow? { try OrganizationRow.fetchOne(db, key: id.lowercasedString) }
    func firstOrganization() throws -> OrganizationRow? { try OrganizationRow.order(OrganizationRow.Columns.createdAt).fetchOne(db) }
    func save(_ row: OrganizationRow) throws { try row.save(db) }

    func delete(_ row: OrganizationRow) throws {
        for account in try serviceAccounts(organization: row.id) { try delete(account) }
        try RoleBindingRow.filter(
            RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.organization.rawValue && RoleBindingRow.Columns.resourceID == row.id.lowercasedString
        ).deleteAll(db)
        try row.delete(db)  // invites go with it (ON DELETE CASCADE)
    }

    func project(_ id: UUID) throws -> ProjectRow? { try ProjectRow.fetchOne(db, key: id.lowercasedString) }

    func projects(organization: UUID) throws -> [ProjectRow] {
        try ProjectRow.filter(ProjectRow.Columns.organizationID == organization.lowercasedString)
            .order(ProjectRow.Columns.createdAt, ProjectRow.Columns.name).fetchAll(db)
    }

    func save(_ row: ProjectRow) throws { try row.save(db) }

    func billingContact(of row: OrganizationRow) throws -> BillingContact? {
        try row.sealedBillingContact.map { try sealer.open(json: $0, as: BillingContact.self, .billingContact) }
    }

    func setBillingContact(_ contact: BillingContact?, of row: inout OrganizationRow) throws {
        row.sealedBillingContact = try contact.map { try sealer.seal(json: $0, .billingContact) }
    }

    func tags(of row: ProjectRow) throws -> [String: String] {
        try row.sealedTags.map { try sealer.open(json: $0, as: [String: String].self, .projectTags) } ?? [:]
    }

    func setTags(_ tags: [String: String], of row: inout ProjectRow) throws {
        row.sealedTags = tags.isEmpty ? nil : try sealer.seal(json: tags, .projectTags)
    }

    func delete(_ row: ProjectRow) throws {
        try RoleBindingRow.filter(
            RoleBindingRow.Columns.resourceType == RoleBindingInfo.ResourceType.project.rawValue && RoleBindingRow.Columns.resourceID == row.id.lowercasedString
        ).deleteAll(db)
        try row.delete(db)  // API keys go with it (ON DELETE CASCADE)
    }

    func indexCount(project: UUID) throws -> Int { try IndexRow.filter(IndexRow.Columns.projectID == project.lowercasedString).fetchCount(db) }

    func deleteBackups(project: UUID) throws -> [UUID] {
        let ids = try String.fetchAll(db, sql: "SELECT id FROM backup WHERE project_id = ?", arguments: [project.lowercasedString]).map(SQLiteCatalog.uuid)
        try db.execute(sql: "DELETE FROM backup WHERE project_id = ?", arguments: [project.lowercasedString])
        return ids
    }

    func backupCount(project: UUID) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM backup WHERE project_id = ?", arguments: [project.lowercasedString]) ?? 0
    }

    func indexes(project: UUID) throws -> [IndexDefinition] {
        try IndexRow.filter(IndexRow.Columns.projectID == project.lowercasedString).fetchAll(db).map { try $0.definition(sealer) }
    }

    func deleteIndex(_ id: UUID) throws { _ = try IndexRow.deleteOne(db, key: id.lowercasedString) }

    func cmekKey(project: UUID) throws -> CMEKKey? {
        try CMEKKeyRow.filter(CMEKKeyRow.Columns.projectID == project.lowercasedString).fetchOne(db).map(key)
    }

    func insert(_ key: CMEKKey) throws {
        try CMEKKeyRow(
            id: key.id, projectID: key.projectID, name: key.name, roleARN: key.roleARN, keyARN: key.keyARN,
            externalID: try key.externalID.map { try sealer.seal(Data($0.utf8), .cmekExternalID) }, createdAt: key.createdAt
        ).insert(db)
    }

    func deleteCMEKKey(_ id: UUID) throws { _ = try CMEKKeyRow.deleteOne(db, key: id.lowercasedString) }

    private func key(_ row: CMEKKeyRow) throws -> CMEKKey {
        CMEKKey(
            id: row.id, projectID: row.projectID, name: row.name, roleARN: row.roleARN,
            keyARN: row.keyARN, externalID: try row.externalID.map { String(decoding: try sealer.open($0, .cmekExternalID), as: UTF8.self) },
            createdAt: row.createdAt
        )
    }

    func privateEndpoints(project: UUID) throws -> [PrivateEndpoint] {
        try PrivateEndpointRow.filter(PrivateEndpointRow.Columns.projectID == project.lowercasedString)
            .order(PrivateEndpointRow.Columns.createdAt, Column("id")).fetchAll(db).map(SQLiteCatalog.endpoint)
    }

    func insert(_ endpoint: PrivateEndpoint) throws {
        try PrivateEndpointRow(
            id: endpoint.id, projectID: endpoint.projectID, name: endpoint.name, region: endpoint.region,
            vpcEndpointID: endpoint.vpcEndpointID, allowedCIDRs: endpoint.allowedCIDRs.map(\.description), createdAt: endpoint.createdAt
        ).insert(db)
    }

    func deletePrivateEndpoint(_ id: UUID) throws { _ = try PrivateEndpointRow.deleteOne(db, key: id.lowercasedString) }

    func apiKey(_ id: UUID) throws -> APIKeyRow? { try APIKeyRow.fetchOne(db, key: id.lowercasedString) }

    func apiKeys(project: UUID) throws -> [APIKeyRow] {
        try APIKeyRow.filter(APIKeyRow.Columns.projectID == project.lowercasedString).order(APIKeyRow.Columns.createdAt).fetchAll(db)
    }

    func save(_ row: APIKeyRow) throws { try row.save(db) }
    func delete(_ row: APIKeyRow) throws { try row.delete(db) }

    func serviceAccount(_ id: UUID) throws -> ServiceAccountRow? { try ServiceAccountRow.fetchOne(db, key: id.lowercasedString) }
    func serviceAccount(clientID: String) throws -> ServiceAccountRow? {
        try ServiceAccountRow.filter(ServiceAccountRow.Columns.clientID == clientID).fetchOne(db)
    }

    func serviceAccounts(organization: UUID) throws -> [ServiceAccountRow] {
        try ServiceAccountRow.filter(ServiceAccountRow.Columns.organizationID == organization.lowercasedString).order(ServiceAccountRow.Columns.createdAt).fetchAll(db)
    }

    func save(_ row: ServiceAccountRow) throws { try row.save(db) }

    func delete(_ row: ServiceAccountRow) throws {
        try RoleBindingRow.filter(
            RoleBindingRow.Columns.principalType == RoleBindingInfo.PrincipalType.serviceAccount.rawValue && RoleBindingRow.Columns.principalID == row.id.lowercasedString
        ).deleteAll(db)
        try row.delete(db)
    }

    func roleBinding(_ id: UUID) throws -> RoleBindingRow? { try RoleBindingRow.fetchOne(db, key: id.lowercasedString) }

    func roleBindings(_ query: BindingQuery) throws -> [RoleBindingRow] {
        var request = RoleBindingRow.all()
        if let type = query.principalType { request = request.filter(RoleBindingRow.Columns.principalType == type.rawValue) }
        if let id = query.principalID { request = request.filter(RoleBindingRow.Columns.principalID == id.lowercasedString) }
        if let type = query.resourceType { request = request.filter(RoleBindingRow.Columns.resourceType == type.rawValue) }
        if let id = query.resourceID { request = request.filter(RoleBindingRow.Columns.resourceID == id.lowercasedString) }
        if let role = query.role { request = request.filter(RoleBindingRow.Columns.role == role.rawValue) }
        return try request.order(RoleBindingRow.Columns.createdAt, RoleBindingRow.Columns.id).fetchAll(db)
    }

    func replace(_ row: RoleBindingRow) throws { try row.insert(db, onConflict: .replace) }
    func delete(_ row: RoleBindingRow) throws { try row.delete(db) }

    func user(_ id: UUID) throws -> UserRow? { try UserRow.fetchOne(db, key: id.lowercasedString) }
    func user(email: String) throws -> UserRow? { try UserRow.filter(UserRow.Columns.email == email).fetchOne(db) }
    func users(_ ids: [UUID]) throws -> [UserRow] { try UserRow.filter(keys: ids.map(\.lowercasedString)).order(UserRow.Columns.email).fetchAll(db) }
    func save(_ row: UserRow) throws { try row.save(db) }

    func invite(_ id: UUID) throws -> InviteRow? { try InviteRow.fetchOne(db, key: id.lowercasedString) }
    func invite(tokenHash: String) throws -> InviteRow? { try InviteRow.filter(InviteRow.Columns.tokenHash == tokenHash).fetchOne(db) }

    func invites(organization: UUID) throws -> [InviteRow] {
        try InviteRow.filter(InviteRow.Columns.organizationID == organization.lowercasedString).order(InviteRow.Columns.createdAt).fetchAll(db)
    }

    func save(_ row: InviteRow) throws { try row.save(db) }
    func delete(_ row: InviteRow) throws { try row.delete(db) }
}
