import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The console's single sign-on page (organization owners): what to copy into the identity provider (SP entity id,
/// ACS URL, metadata URL), the settings with the certificate's fingerprint, and the form that sets or removes them
/// (with a role per project for new users),
/// through the SSO routes' own operation (so the same rules and audit apply). Starter organizations see why not.
extension ConsoleController {
    func registerSSOPages(in routes: RouteTable) {
        routes.console(.get, "/console/single-sign-on", .organization(.organizationWrite), handler: ssoPage)
        routes.console(.post, "/console/single-sign-on", .organization(.organizationWrite), audit: .kind(.updateSSO), handler: setSSO)
        routes.console(.post, "/console/single-sign-on/delete", .organization(.organizationWrite), audit: .kind(.removeSSO), handler: removeSSO)
    }

    @Sendable func ssoPage(_ call: ConsoleCall) async throws -> Response {
        var values = try await layout(call, title: "Single sign-on", current: "SSO")
        let id = call.pass.identity.organizationID
        let organization = try await admin.organization(id, for: call.pass)
        values["available"] = organization.plan != .starter
        let provider = sso.serviceProvider(id)
        values["sp"] = ["entityID": provider.entityID, "acsURL": provider.acsURL]
        guard organization.plan != .starter else { return ConsolePages.page("sso", values) }
        let wire = SSOSettingsWire(try await admin.ssoSettings(organization: id, for: call.pass), serviceProvider: provider)
        if wire.configured {
            // Every value the section prints is set: a missing one would be looked up in the page's outer values.
            values["settings"] = [
                "idpEntityID": wire.idp_entity_id ?? "", "ssoURL": wire.sso_url ?? "", "fingerprint": wire.certificate_fingerprint_sha256 ?? "—",
                "notAfter": wire.certificate_not_after.map(ConsolePages.date) ?? "—", "domains": wire.domains.joined(separator: ", "),
                "enforced": wire.enforced ? "yes: passwords are refused for these domains" : "no", "defaultRole": wire.default_role ?? "",
            ]
        }
        values["roles"] = [OrganizationRole.member, .manager, .billingAdmin].map { role in
            ["name": role.rawValue, "selected": (wire.default_role ?? OrganizationRole.member.rawValue) == role.rawValue]
        }
        let projectRoles = Dictionary(uniqueKeysWithValues: wire.default_project_roles.map { ($0.project_id, $0.role) })
        let projects = try await admin.projects(for: call.pass)
        values["projects"] = projects.map { project -> [String: Any] in
            let current = projectRoles[project.id.lowercasedString] ?? ""
            return [
                "id": project.id.lowercasedString, "name": project.name,
                "roles": [["value": "", "label": "none", "selected": current.isEmpty]]
                    + [ProjectRole.member, .manager, .owner].map { ["value": $0.rawValue, "label": $0.rawValue, "selected": current == $0.rawValue] },
            ]
        }
        if !wire.default_project_roles.isEmpty, var settings = values["settings"] as? [String: Any] {
            let names = Dictionary(uniqueKeysWithValues: projects.map { ($0.id.lowercasedString, $0.name) })
            settings["projectRoles"] = wire.default_project_roles.map { "\($0.role) in \(names[$0.project_id] ?? $0.project_id)" }.joined(separator: ", ")
            values["settings"] = settings
        }
        values["form"] = [
            "idpEntityID": wire.idp_entity_id ?? "", "ssoURL": wire.sso_url ?? "", "certificate": wire.certificate ?? "",
            "domains": wire.domains.joined(separator: ", "), "enforced": wire.enforced,
        ]
        return ConsolePages.page("sso", values)
    }

    @Sendable func setSSO(_ call: ConsoleCall) async throws -> Response {
        let body = SSOSettingsRequestWire(
            idp_entity_id: call.field("idp_entity_id"), sso_url: call.field("sso_url"), certificate: call.field("certificate"),
            domains: call.field("domains").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            enforced: call.form["enforced"] == "true", default_role: call.field("default_role"),
            default_project_roles: call.form.compactMap { name, role in
                guard name.hasPrefix("project_role_"), !role.isEmpty else { return nil }
                return SSOProjectRoleWire(project_id: String(name.dropFirst("project_role_".count)), role: role)
            }.sorted { $0.project_id < $1.project_id }
        )
        _ = try await sso.set(organization: call.pass.identity.organizationID, body, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/single-sign-on")
    }

    @Sendable func removeSSO(_ call: ConsoleCall) async throws -> Response {
        try await sso.remove(organization: call.pass.identity.organizationID, call.context, call.pass)
        return ConsolePages.redirect(to: "/console/single-sign-on")
    }
}
