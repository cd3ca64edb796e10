import ConiferCore
import Foundation

/// The catalog's rows in one transaction of either store, in the SQL both read (`CatalogSQL`): loads and stores
/// only, every rule is `AdminService`'s and `CatalogService`'s.
struct CatalogSQLRows: CatalogRows {
    let sql: any CatalogSQL
    let sealer: ColumnSealer
    /// Parsed address blocks of private endpoints, kept across transactions (the data plane reads them per request).
    let blocks: ParsedBlocks

    func organization(_ id: UUID) throws -> OrganizationRow? { try sql.row("SELECT * FROM organization WHERE id = ?", id).map(OrganizationRow.init) }
    func firstOrganization() throws -> OrganizationRow? { try sql.row("SELECT * FROM organization ORDER BY created_at LIMIT 1").map(OrganizationRow.init) }
    func save(_ row: OrganizationRow) throws { try row.save(sql) }

    func delete(_ row: OrganizationRow) throws {
        for account in try serviceAccounts(organization: row.id) { try delete(account) }
        try sql.execute("DELETE FROM role_binding WHERE resource_type = ? AND resource_id = ?", RoleBindingInfo.ResourceType.organization.rawValue, row.id)
        try sql.execute("DELETE FROM organization WHERE id = ?", row.id)  // invites go with it (ON DELETE CASCADE)
    }

    func project(_ id: UUID) throws -> ProjectRow? { try sql.row("SELECT * FROM project WHERE id = ?", id).map(ProjectRow.init) }

    func projects(organization: UUID) throws -> [ProjectRow] {
        try sql.rows("SELECT * FROM project WHERE organization_id = ? ORDER BY created_at, name", organization).map(ProjectRow.init)
    }

    func save(_ row: ProjectRow) throws { try row.save(sql) }

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
        try sql.execute("DELETE FROM role_binding WHERE resource_type = ? AND resource_id = ?", RoleBindingInfo.ResourceType.project.rawValue, row.id)
        try sql.execute("DELETE FROM project WHERE id = ?", row.id)  // API keys go with it (ON DELETE CASCADE)
    }

    func indexCount(project: UUID) throws -> Int { try sql.value("SELECT COUNT(*) FROM index_definition WHERE project_id = ?", project) ?? 0 }

    func deleteBackups(project: UUID) throws -> [UUID] {
        let ids: [UUID] = try sql.values("SELECT id FROM backup WHERE project_id = ?", project)
        try sql.execute("DELETE FROM backup WHERE project_id = ?", project)
        return ids
    }

    func backupCount(project: UUID) throws -> Int { try sql.value("SELECT COUNT(*) FROM backup WHERE project_id = ?", project) ?? 0 }

    func indexes(project: UUID) throws -> [IndexDefinition] {
        try sql.rows("SELECT * FROM index_definition WHERE project_id = ?", project).map { try IndexRow($0).definition(sealer) }
    }

    func deleteIndex(_ id: UUID) throws { try sql.execute("DELETE FROM index_definition WHERE id = ?", id) }

    func cmekKey(project: UUID) throws -> CMEKKey? {
        try sql.row("SELECT * FROM cmek_key WHERE project_id = ?", project).map { try key(CMEKKeyRow($0)) }
    }

    func insert(_ key: CMEKKey) throws {
        try CMEKKeyRow(
            id: key.id, projectID: key.projectID, name: key.name, roleARN: key.roleARN, keyARN: key.keyARN,
            externalID: try key.externalID.map { try sealer.seal(Data($0.utf8), .cmekExternalID) }, createdAt: key.createdAt
        ).insert(sql)
    }

    func deleteCMEKKey(_ id: UUID) throws { try sql.execute("DELETE FROM cmek_key WHERE id = ?", id) }

    private func key(_ row: CMEKKeyRow) throws -> CMEKKey {
        CMEKKey(
            id: row.id, projectID: row.projectID, name: row.name, roleARN: row.roleARN,
            keyARN: row.keyARN, externalID: try row.externalID.map { String(decoding: try sealer.open($0, .cmekExternalID), as: UTF8.self) },
            createdAt: row.createdAt
        )
    }

    func privateEndpoints(project: UUID) throws -> [PrivateEndpoint] {
        try sql.rows("SELECT * FROM private_endpoint WHERE project_id = ? ORDER BY created_at, id", project).map { try SQLiteCatalog.endpoint(PrivateEndpointRow($0)) }
    }

    func insert(_ endpoint: PrivateEndpoint) throws {
        try PrivateEndpointRow(
            id: endpoint.id, projectID: endpoint.projectID, name: endpoint.name, region: endpoint.region,
            vpcEndpointID: endpoint.vpcEndpointID, allowedCIDRs: endpoint.allowedCIDRs.map(\.description), createdAt: endpoint.createdAt
        ).insert(sql)
    }

    func deletePrivateEndpoint(_ id: UUID) throws { try sql.execute("DELETE FROM private_endpoint WHERE id = ?", id) }

    func apiKey(_ id: UUID) throws -> APIKeyRow? { try sql.row("SELECT * FROM api_key WHERE id = ?", id).map(APIKeyRow.init) }

    func apiKeys(project: UUID) throws -> [APIKeyRow] {
        try sql.rows("SELECT * FROM api_key WHERE project_id = ? ORDER BY created_at", project).map(APIKeyRow.init)
    }

    func save(_ row: APIKeyRow) throws { try row.save(sql) }
    func delete(_ row: APIKeyRow) throws { try sql.execute("DELETE FROM api_key WHERE id = ?", row.id) }

    func serviceAccount(_ id: UUID) throws -> ServiceAccountRow? {
        try sql.row("SELECT * FROM service_account WHERE id = ?", id).map(ServiceAccountRow.init)
    }

    func serviceAccount(clientID: String) throws -> ServiceAccountRow? {
        try sql.row("SELECT * FROM service_account WHERE client_id = ?", clientID).map(ServiceAccountRow.init)
    }

    func serviceAccounts(organization: UUID) throws -> [ServiceAccountRow] {
        try sql.rows("SELECT * FROM service_account WHERE organization_id = ? ORDER BY created_at", organization).map(ServiceAccountRow.init)
    }

    func save(_ row: ServiceAccountRow) throws { try row.save(sql) }

    func delete(_ row: ServiceAccountRow) throws {
        try sql.execute(
            "DELETE FROM role_binding WHERE principal_type = ? AND principal_id = ?", RoleBindingInfo.PrincipalType.serviceAccount.rawValue, row.id
        )
        try sql.execute("DELETE FROM service_account WHERE id = ?", row.id)
    }

    func roleBinding(_ id: UUID) throws -> RoleBindingRow? { try sql.row("SELECT * FROM role_binding WHERE id = ?", id).map(RoleBindingRow.init) }

    func roleBindings(_ query: BindingQuery) throws -> [RoleBindingRow] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        func match(_ column: String, _ value: (some SQLArgument)?) {
            guard let value else { return }
            conditions.append("\(column) = ?")
            arguments.append(value.sqlValue)
        }
        match("principal_type", query.principalType?.rawValue)
        match("principal_id", query.principalID)
        match("resource_type", query.resourceType?.rawValue)
        match("resource_id", query.resourceID)
        match("role", query.role?.rawValue)
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return try sql.rows("SELECT * FROM role_binding\(filter) ORDER BY created_at, id", arguments).map(RoleBindingRow.init)
    }

    func replace(_ row: RoleBindingRow) throws { try row.replace(sql) }
    func delete(_ row: RoleBindingRow) throws { try sql.execute("DELETE FROM role_binding WHERE id = ?", row.id) }

    func user(_ id: UUID) throws -> UserRow? { try sql.row("SELECT * FROM \"user\" WHERE id = ?", id).map(UserRow.init) }
    func user(email: String) throws -> UserRow? { try sql.row("SELECT * FROM \"user\" WHERE email = ?", email).map(UserRow.init) }

    func users(_ ids: [UUID]) throws -> [UserRow] {
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try sql.rows("SELECT * FROM \"user\" WHERE id IN (\(marks)) ORDER BY email", ids.map(\.sqlValue)).map(UserRow.init)
    }

    func save(_ row: UserRow) throws { try row.save(sql) }

    func invite(_ id: UUID) throws -> InviteRow? { try sql.row("SELECT * FROM invite WHERE id = ?", id).map(InviteRow.init) }
    func invite(tokenHash: String) throws -> InviteRow? { try sql.row("SELECT * FROM invite WHERE token_hash = ?", tokenHash).map(InviteRow.init) }

    func invites(organization: UUID) throws -> [InviteRow] {
        try sql.rows("SELECT * FROM invite WHERE organization_id = ? ORDER BY created_at", organization).map(InviteRow.init)
    }

    func save(_ row: InviteRow) throws { try row.save(sql) }
    func delete(_ row: InviteRow) throws { try sql.execute("DELETE FROM invite WHERE id = ?", row.id) }
}
