import ConiferCore
import Foundation

extension CatalogSQLRows {
    func ssoSettings(organization: UUID) throws -> SSOSettings? {
        try sql.row("SELECT * FROM sso_settings WHERE organization_id = ?", organization).map(ssoSettings)
    }

    func allSSOSettings() throws -> [SSOSettings] {
        try sql.rows("SELECT * FROM sso_settings ORDER BY organization_id").map(ssoSettings)
    }

    func save(_ settings: SSOSettings) throws {
        let domains = String(decoding: try JSONEncoder().encode(settings.domains), as: UTF8.self)
        let projectRoles = String(
            decoding: try JSONEncoder().encode(Dictionary(uniqueKeysWithValues: settings.defaultProjectRoles.map { ($0.key.lowercasedString, $0.value.rawValue) })),
            as: UTF8.self
        )
        try sql.upsert("sso_settings", key: ["organization_id"], [
            "organization_id": settings.organizationID, "idp_entity_id": settings.idpEntityID, "sso_url": settings.ssoURL,
            "certificate": settings.certificatePEM, "domains": domains, "enforced": settings.enforced, "default_role": settings.defaultRole.rawValue,
            "default_project_roles": projectRoles, "updated_at": settings.updatedAt,
        ])
    }

    func deleteSSOSettings(organization: UUID) throws {
        try sql.execute("DELETE FROM sso_settings WHERE organization_id = ?", organization)
    }

    func insertSAMLRequest(id: String, organization: UUID, expiresAt: Date, callback: SSOCallback?) throws {
        try sql.insert("saml_request", [
            "id": id, "organization_id": organization, "expires_at": expiresAt, "callback_port": callback?.port, "code_challenge": callback?.challenge,
        ])
    }

    func takeSAMLRequest(id: String, organization: UUID, now: Date) throws -> SSOCallback?? {
        guard let row = try sql.row(
            "SELECT callback_port, code_challenge FROM saml_request WHERE id = ? AND organization_id = ? AND expires_at > ?", id, organization, now
        ) else { return nil }
        try sql.execute("DELETE FROM saml_request WHERE id = ?", id)
        guard let port: Int = try row.get("callback_port"), let challenge: String = try row.get("code_challenge") else { return .some(nil) }
        return .some(try SSOCallback(port: port, challenge: challenge))
    }

    func insertSSOCode(hash: String, user: UUID, challenge: String, expiresAt: Date) throws {
        try sql.insert("sso_code", ["code_hash": hash, "user_id": user, "code_challenge": challenge, "expires_at": expiresAt])
    }

    func takeSSOCode(hash: String, now: Date) throws -> (user: UUID, challenge: String)? {
        guard let row = try sql.row("SELECT user_id, code_challenge FROM sso_code WHERE code_hash = ? AND expires_at > ?", hash, now) else { return nil }
        try sql.execute("DELETE FROM sso_code WHERE code_hash = ?", hash)
        return (try row.get("user_id"), try row.get("code_challenge"))
    }

    func recordSAMLAssertion(key: String, organization: UUID, expiresAt: Date) throws -> Bool {
        try sql.execute(
            "INSERT INTO saml_assertion (key, organization_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING", key, organization, expiresAt
        ) == 1
    }

    func deleteExpiredSAMLState(now: Date) throws {
        try sql.execute("DELETE FROM saml_request WHERE expires_at <= ?", now)
        try sql.execute("DELETE FROM saml_assertion WHERE expires_at <= ?", now)
        try sql.execute("DELETE FROM sso_code WHERE expires_at <= ?", now)
    }

    private func ssoSettings(_ row: any CatalogRow) throws -> SSOSettings {
        let role: String = try row.get("default_role")
        guard let defaultRole = OrganizationRole(rawValue: role) else { throw ConiferError(.internalError, "SSO settings carry an unknown role \(role).") }
        var projectRoles: [UUID: ProjectRole] = [:]
        for (project, name) in try JSONDecoder().decode([String: String].self, from: Data((try row.get("default_project_roles") as String).utf8)) {
            guard let role = ProjectRole(rawValue: name) else { throw ConiferError(.internalError, "SSO settings carry an unknown role \(name).") }
            projectRoles[try SQLiteCatalog.uuid(project)] = role
        }
        return SSOSettings(
            organizationID: try row.get("organization_id"), idpEntityID: try row.get("idp_entity_id"), ssoURL: try row.get("sso_url"),
            certificatePEM: try row.get("certificate"), domains: try JSONDecoder().decode([String].self, from: Data((try row.get("domains") as String).utf8)),
            enforced: try row.get("enforced"), defaultRole: defaultRole, defaultProjectRoles: projectRoles, updatedAt: try row.get("updated_at")
        )
    }
}
