import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The console's project pages: settings (name, pod limit, CMEK, private-only), API keys with the one-time
/// secret page, the customer-managed key, private endpoints, and deletion. Routes that name a project are decided
/// on it as the Admin API's are (a project the user cannot see answers 404); each form calls the Admin API
/// controller's own operation.
extension ConsoleController {
    func registerProjectPages(in routes: RouteTable) {
        routes.console(.post, "/console/projects", .organization(.projectsCreate), audit: .kind(.createProject), handler: createProject)
        routes.console(.get, "/console/projects/:project_id", .projectAdmin(.projectRead), handler: projectPage)
        routes.console(.post, "/console/projects/:project_id", .projectAdmin(.projectWrite), audit: .kind(.updateProject), handler: updateProject)
        routes.console(.post, "/console/projects/:project_id/delete", .projectAdmin(.projectDelete), audit: .kind(.deleteProject), handler: deleteProject)
        routes.console(.post, "/console/projects/:project_id/api-keys", .projectAdmin(.apiKeysWrite), audit: .kind(.createAPIKey), handler: createAPIKey)
        routes.console(.get, "/console/api-keys/:api_key_id", .projectAdmin(.apiKeysRead), handler: apiKeyPage)
        routes.console(.post, "/console/api-keys/:api_key_id", .projectAdmin(.apiKeysWrite), audit: .kind(.updateAPIKey), handler: updateAPIKey)
        routes.console(.post, "/console/api-keys/:api_key_id/delete", .projectAdmin(.apiKeysWrite), audit: .kind(.deleteAPIKey), handler: deleteAPIKey)
        routes.console(.post, "/console/projects/:project_id/cmek-keys", .projectAdmin(.projectWrite), audit: .kind(.createCMEKKey), handler: createCMEKKey)
        routes.console(
            .post, "/console/projects/:project_id/cmek-keys/:cmek_key_id/delete", .projectAdmin(.projectWrite), audit: .kind(.deleteCMEKKey), handler: deleteCMEKKey
        )
        routes.console(
            .post, "/console/projects/:project_id/private-endpoints", .projectAdmin(.projectWrite), audit: .kind(.createPrivateEndpoint), handler: createPrivateEndpoint
        )
        routes.console(
            .post, "/console/projects/:project_id/private-endpoints/:private_endpoint_id/delete", .projectAdmin(.projectWrite),
            audit: .kind(.deletePrivateEndpoint), handler: deletePrivateEndpoint
        )
        routes.console(.post, "/console/projects/:project_id/members", .projectAdmin(.membersWrite), audit: .kind(.createRoleBinding), handler: addProjectMember)
        routes.console(
            .post, "/console/role-bindings/:role_binding_id/delete", .membership(.membersWrite), audit: .kind(.deleteRoleBinding), handler: removeProjectMember
        )
    }

    func projectPath(_ id: UUID) -> String { "/console/projects/\(id.lowercasedString)" }

    @Sendable func createProject(_ call: ConsoleCall) async throws -> Response {
        let body = CreateProjectRequestWire(name: call.field("name"), max_pods: nil, force_encryption_with_cmek: call.form["force_encryption_with_cmek"] == "true")
        let project = try await projects.createProject(body, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(project.id))
    }

    /// The project, and the sections the user's role in it opens.
    @Sendable func projectPage(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let project = try await admin.project(id, for: call.pass)
        var values = try await layout(call, title: project.name)
        let permissions = call.pass.identity.permissions(inProject: id)
        values["project"] = [
            "id": id.lowercasedString, "name": project.name, "cmek": project.forceEncryptionWithCMEK, "privateOnly": project.privateEndpointAccessOnly,
            "maxPods": project.maxPods, "created": ConsolePages.date(project.createdAt),
        ]
        values["canWrite"] = permissions.contains(.projectWrite)
        values["canDelete"] = permissions.contains(.projectDelete)
        values["canReadKeys"] = permissions.contains(.apiKeysRead)
        values["canWriteKeys"] = permissions.contains(.apiKeysWrite)
        if permissions.contains(.apiKeysRead) {
            let keys = try await admin.apiKeys(inProject: id, for: call.pass).sorted { $0.name < $1.name }
            values["hasKeys"] = !keys.isEmpty
            values["keys"] = keys.map { key -> [String: Any] in
                ["id": key.id.lowercasedString, "name": key.name, "roles": key.roles.map(\.rawValue).joined(separator: ", "), "created": ConsolePages.date(key.createdAt)]
            }
            values["keyRoles"] = ConsolePages.options(APIKeyRole.allCases.map(\.rawValue), selected: [APIKeyRole.projectEditor.rawValue])
        }
        if permissions.contains(.membersRead) { try await projectMembers(id, call, into: &values) }
        values["canReadMembers"] = permissions.contains(.membersRead)
        values["canWriteMembers"] = permissions.contains(.membersWrite)
        let cmek = try await admin.cmekKeys(inProject: id, for: call.pass)
        values["hasCMEK"] = !cmek.isEmpty
        values["cmekKeys"] = cmek.map { ["id": $0.id.lowercasedString, "name": $0.name, "keyARN": $0.keyARN, "roleARN": $0.roleARN ?? ""] }
        let endpoints = try await admin.privateEndpoints(inProject: id, for: call.pass)
        values["hasEndpoints"] = !endpoints.isEmpty
        values["endpoints"] = endpoints.map { endpoint -> [String: Any] in
            [
                "id": endpoint.id.lowercasedString, "name": endpoint.name, "region": endpoint.region, "vpcEndpointID": endpoint.vpcEndpointID ?? "",
                "cidrs": endpoint.allowedCIDRs.map(\.description).joined(separator: ", "),
            ]
        }
        return ConsolePages.page("project", values)
    }

    /// Saves the settings form: only what differs from the project as it is now is sent as a change.
    @Sendable func updateProject(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let current = try await admin.project(id, for: call.pass)
        let name = call.field("name")
        let pods = call.field("max_pods")
        guard pods.isEmpty || Int(pods) != nil else { throw ConiferError.invalidArgument("The pod limit must be a whole number.") }
        let cmek = call.form["force_encryption_with_cmek"] == "true"
        let privateOnly = call.form["private_endpoint_access_only"] == "true"
        var body = UpdateProjectRequestWire(
            name: name == current.name ? nil : name, max_pods: Int(pods).flatMap { $0 == current.maxPods ? nil : $0 },
            private_endpoint_access_only: privateOnly == current.privateEndpointAccessOnly ? nil : privateOnly
        )
        body.force_encryption_with_cmek = cmek == current.forceEncryptionWithCMEK ? nil : cmek
        _ = try await projects.updateProject(id, body, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(id))
    }

    /// Deletes the project once the form names it (a guard against the wrong page, not a permission).
    @Sendable func deleteProject(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let project = try await admin.project(id, for: call.pass)
        guard call.field("confirm") == project.name else {
            throw ConiferError.invalidArgument("Type the project's name to confirm its deletion; nothing was deleted.")
        }
        try await projects.deleteProject(id, call.context, call.pass)
        return ConsolePages.redirect(to: "/console")
    }

    /// Creates an API key with the roles ticked and shows its secret once.
    @Sendable func createAPIKey(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let roles = APIKeyRole.allCases.filter { call.form["role_\($0.rawValue)"] == "true" }
        guard !roles.isEmpty else { throw ConiferError.invalidArgument("Tick at least one role for the key.") }
        let created = try await projects.createAPIKey(inProject: id, name: call.field("name"), roles: roles, call.context, call.pass)
        var values = try await layout(call, title: "API key \(created.name)")
        values["heading"] = "API key \(created.name) created"
        values["lost"] = "delete the key and create another"
        values["fields"] = [["label": "API key", "id": "api-key", "value": created.value]]
        values["back"] = projectPath(id)
        return ConsolePages.page("secret", values)
    }

    /// A key's name and roles, with the form that changes them (its secret is never shown again).
    @Sendable func apiKeyPage(_ call: ConsoleCall) async throws -> Response {
        let key = try await admin.apiKey(try call.uuid("api_key_id", notFound: "API key"), for: call.pass)
        let projectName = (try? await admin.project(key.projectID, for: call.pass))?.name ?? key.projectID.lowercasedString
        var values = try await layout(call, title: "API key \(key.name)")
        values["project"] = ["id": key.projectID.lowercasedString, "name": projectName]
        values["key"] = ["id": key.id.lowercasedString, "name": key.name, "created": ConsolePages.date(key.createdAt)]
        values["keyRoles"] = ConsolePages.options(APIKeyRole.allCases.map(\.rawValue), selected: Set(key.roles.map(\.rawValue)))
        values["canWrite"] = call.pass.identity.permissions(inProject: key.projectID).contains(.apiKeysWrite)
        return ConsolePages.page("api-key", values)
    }

    @Sendable func updateAPIKey(_ call: ConsoleCall) async throws -> Response {
        let roles = APIKeyRole.allCases.filter { call.form["role_\($0.rawValue)"] == "true" }
        guard !roles.isEmpty else { throw ConiferError.invalidArgument("Tick at least one role for the key.") }
        let updated = try await projects.updateAPIKey(try call.uuid("api_key_id", notFound: "API key"), name: call.field("name"), roles: roles, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(updated.projectID))
    }

    @Sendable func deleteAPIKey(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("api_key_id", notFound: "API key")
        let key = try await admin.apiKey(id, for: call.pass)
        try await admin.deleteAPIKey(id, for: call.pass)
        return ConsolePages.redirect(to: projectPath(key.projectID))
    }

    @Sendable func createCMEKKey(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        func optional(_ name: String) -> String? { call.field(name).isEmpty ? nil : call.field(name) }
        let body = CreateCMEKKeyRequestWire(name: call.field("name"), role_arn: optional("role_arn"), key_arn: call.field("key_arn"), external_id: optional("external_id"))
        _ = try await projects.createCMEKKey(inProject: id, body, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(id))
    }

    @Sendable func deleteCMEKKey(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        try await projects.deleteCMEKKey(try call.uuid("cmek_key_id", notFound: "CMEK key"), inProject: id, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(id))
    }

    @Sendable func createPrivateEndpoint(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let cidrs = call.field("allowed_cidrs").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let vpc = call.field("vpc_endpoint_id")
        let body = CreatePrivateEndpointRequestWire(
            name: call.field("name"), region: call.field("region"), vpc_endpoint_id: vpc.isEmpty ? nil : vpc, allowed_cidrs: cidrs.isEmpty ? nil : cidrs
        )
        _ = try await projects.createPrivateEndpoint(inProject: id, body, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(id))
    }

    @Sendable func deletePrivateEndpoint(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        try await projects.deletePrivateEndpoint(try call.uuid("private_endpoint_id", notFound: "Private endpoint"), inProject: id, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(id))
    }
}

// MARK: Project members

extension ConsoleController {
    static let projectRoles = ProjectRole.allCases.map(\.rawValue)

    /// The project's members (users and service accounts with a role there) and, for the add form, the organization's
    /// users and service accounts the signed-in user may see.
    func projectMembers(_ project: UUID, _ call: ConsoleCall, into values: inout [String: Any]) async throws {
        let users = (try? await admin.users(email: nil, for: call.pass)) ?? []
        let accounts = (try? await admin.serviceAccounts(for: call.pass)) ?? []
        var names: [UUID: String] = [:]
        for user in users { names[user.id] = user.email }
        for account in accounts { names[account.id] = account.name }
        let bindings = try await admin.roleBindings(RoleBindingFilter(resourceType: .project, resourceID: project), for: call.pass)
        values["members"] = bindings.sorted { (names[$0.principalID] ?? "") < (names[$1.principalID] ?? "") }.map { binding -> [String: Any] in
            [
                "id": binding.id.lowercasedString, "principal": names[binding.principalID] ?? binding.principalID.lowercasedString,
                "type": binding.principalType == .user ? "user" : "service account", "role": binding.role.rawValue,
            ]
        }
        values["hasMembers"] = !bindings.isEmpty
        values["principals"] = users.sorted { $0.email < $1.email }.map { ["value": "user:\($0.id.lowercasedString)", "label": $0.email] }
            + accounts.sorted { $0.name < $1.name }.map { ["value": "service_account:\($0.id.lowercasedString)", "label": "\($0.name) (service account)"] }
        values["projectRoles"] = ConsolePages.options(Self.projectRoles, selected: [ProjectRole.member.rawValue])
    }

    /// Gives a user or service account a role in the project (replacing a user's role there), as `POST /admin/role-bindings`.
    @Sendable func addProjectMember(_ call: ConsoleCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let principal = call.field("principal").split(separator: ":", maxSplits: 1).map(String.init)
        guard principal.count == 2 else { throw ConiferError.invalidArgument("Choose a member or service account.") }
        let body = CreateRoleBindingRequestWire(
            principal_type: principal[0], principal_id: principal[1], binding: .project(project.lowercasedString, call.field("role"))
        )
        _ = try await members.createRoleBinding(body, call.context, call.pass)
        return ConsolePages.redirect(to: projectPath(project))
    }

    /// Removes a role binding in a project, as `DELETE /admin/role-bindings/{id}`.
    @Sendable func removeProjectMember(_ call: ConsoleCall) async throws -> Response {
        let id = try call.uuid("role_binding_id", notFound: "Role binding")
        let binding = try await members.deleteRoleBinding(id, call.context, call.pass)
        return ConsolePages.redirect(to: binding.resourceType == .project ? projectPath(binding.resourceID) : "/console/members")
    }
}
