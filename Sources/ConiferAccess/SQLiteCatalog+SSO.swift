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
