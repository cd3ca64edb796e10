import ConiferCore
import Foundation
import GRDB

// Single sign-on: an organization's identity provider settings (one row per organization), the AuthnRequests
// sent and not yet answered, the assertions consumed (the replay cache) and the command-line client's one-time
// codes (by their SHA-256), each kept until it expires.

extension SQLiteCatalog {
    static func registerSSOMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v21 single sign-on") { db in
            try db.create(table: "sso_settings") { t in
                t.primaryKey("organization_id", .text).references("organization", onDelete: .cascade)
                t.column("idp_entity_id", .text).notNull()
                t.column("sso_url", .text).notNull()
                t.column("certificate", .text).notNull()
                t.column("domains", .text).notNull()  // JSON array of lowercase domains
                t.column("enforced", .boolean).notNull()
                t.column("default_role", .text).notNull()
                t.column("default_project_roles", .text).notNull()  // JSON object: project id → role
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(table: "saml_request") { t in
                t.primaryKey("id", .text)
                t.column("organization_id", .text).notNull().references("organization", onDelete: .cascade)
                t.column("expires_at", .datetime).notNull().indexed()
                t.column("callback_port", .integer)  // `conifer login --sso`: its loopback port and PKCE challenge
                t.column("code_challenge", .text)
            }
            try db.create(table: "sso_code") { t in
                t.primaryKey("code_hash", .text)
                t.column("user_id", .text).notNull().references("user", onDelete: .cascade)
                t.column("code_challenge", .text).notNull()
                t.column("expires_at", .datetime).notNull().indexed()
            }
            try db.create(table: "saml_assertion") { t in
                t.primaryKey("key", .text)  // issuer and assertion ID
                t.column("organization_id", .text).notNull().references("organization", onDelete: .cascade)
                t.column("expires_at", .datetime).notNull().indexed()
            }
        }
    }
}

extension SQLiteRows {
    func ssoSettings(organization: UUID) throws -> SSOSettings? {
        try Row.fetchOne(db, sql: "SELECT * FROM sso_settings WHERE organization_id = ?", arguments: [organization.lowercasedString]).map(ssoSettings)
    }

    func allSSOSettings() throws -> [SSOSettings] {
        try Row.fetchAll(db, sql: "SELECT * FROM sso_settings ORDER BY organization_id").map(ssoSettings)
    }

    func save(_ settings: SSOSettings) throws {
        let domains = String(decoding: try JSONEncoder().encode(settings.domains), as: UTF8.self)
        let projectRoles = String(
            decoding: try JSONEncoder().encode(Dictionary(uniqueKeysWithValues: settings.defaultProjectRoles.map { ($0.key.lowercasedString, $0.value.rawValue) })),
            as: UTF8.self
        )
        try db.execute(
            sql: """
                INSERT INTO sso_settings (organization_id, idp_entity_id, sso_url, certificate, domains, enforced, default_role, default_project_roles, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (organization_id) DO UPDATE SET idp_entity_id = excluded.idp_entity_id, sso_url = excluded.sso_url,
                    certificate = excluded.certificate, domains = excluded.domains, enforced = excluded.enforced,
                    default_role = excluded.default_role, default_project_roles = excluded.default_project_roles, updated_at = excluded.updated_at
                """,
            arguments: [
                settings.organizationID.lowercasedString, settings.idpEntityID, settings.ssoURL, settings.certificatePEM, domains,
                settings.enforced, settings.defaultRole.rawValue, projectRoles, settings.updatedAt,
            ]
        )
    }

    func deleteSSOSettings(organization: UUID) throws {
        try db.execute(sql: "DELETE FROM sso_settings WHERE organization_id = ?", arguments: [organization.lowercasedString])
    }

    func insertSAMLRequest(id: String, organization: UUID, expiresAt: Date, callback: SSOCallback?) throws {
        try db.execute(
            sql: "INSERT INTO saml_request (id, organization_id, expires_at, callback_port, code_challenge) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, organization.lowercasedString, expiresAt, callback?.port, callback?.challenge]
        )
    }

    func takeSAMLRequest(id: String, organization: UUID, now: Date) throws -> SSOCallback?? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT callback_port, code_challenge FROM saml_request WHERE id = ? AND organization_id = ? AND expires_at > ?",
            arguments: [id, organization.lowercasedString, now]
        ) else { return nil }
        try db.execute(sql: "DELETE FROM saml_request WHERE id = ?", arguments: [id])
        guard let port: Int = row["callback_port"], let challenge: String = row["code_challenge"] else { return .some(nil) }
        return .some(try SSOCallback(port: port, challenge: challenge))
    }

    func insertSSOCode(hash: String, user: UUID, challenge: String, expiresAt: Date) throws {
        try db.execute(
            sql: "INSERT INTO sso_code (code_hash, user_id, code_challenge, expires_at) VALUES (?, ?, ?, ?)",
            arguments: [hash, user.lowercasedString, challenge, expiresAt]
        )
    }

    func takeSSOCode(hash: String, now: Date) throws -> (user: UUID, challenge: String)? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT user_id, code_challenge FROM sso_code WHERE code_hash = ? AND expires_at > ?", arguments: [hash, now]
        ) else { return nil }
        try db.execute(sql: "DELETE FROM sso_code WHERE code_hash = ?", arguments: [hash])
        return (try SQLiteCatalog.uuid(row["user_id"]), row["code_challenge"])
    }

    func recordSAMLAssertion(key: String, organization: UUID, expiresAt: Date) throws -> Bool {
        try db.execute(
            sql: "INSERT INTO saml_assertion (key, organization_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
            arguments: [key, organization.lowercasedString, expiresAt]
        )
        return db.changesCount == 1
    }

    func deleteExpiredSAMLState(now: Date) throws {
        try db.execute(sql: "DELETE FROM saml_request WHERE expires_at <= ?", arguments: [now])
        try db.execute(sql: "DELETE FROM saml_assertion WHERE expires_at <= ?", arguments: [now])
        try db.execute(sql: "DELETE FROM sso_code WHERE expires_at <= ?", arguments: [now])
    }

    private func ssoSettings(_ row: Row) throws -> SSOSettings {
        let role: String = row["default_role"]
        guard let defaultRole = OrganizationRole(rawValue: role) else { throw ConiferError(.internalError, "SSO settings carry an unknown role \(role).") }
        var projectRoles: [UUID: ProjectRole] = [:]
        for (project, name) in try JSONDecoder().decode([String: String].self, from: Data((row["default_project_roles"] as String).utf8)) {
            guard let role = ProjectRole(rawValue: name) else { throw ConiferError(.internalError, "SSO settings carry an unknown role \(name).") }
            projectRoles[try SQLiteCatalog.uuid(project)] = role
        }
        return SSOSettings(
            organizationID: try SQLiteCatalog.uuid(row["organization_id"]), idpEntityID: row["idp_entity_id"], ssoURL: row["sso_url"],
            certificatePEM: row["certificate"], domains: try JSONDecoder().decode([String].self, from: Data((row["domains"] as String).utf8)),
            enforced: row["enforced"], defaultRole: defaultRole, defaultProjectRoles: projectRoles, updatedAt: row["updated_at"]
        )
    }
}
