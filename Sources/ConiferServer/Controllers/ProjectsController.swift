import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// The Admin API's project routes: projects, their customer-managed key, private endpoints and API keys. Routes
/// that name a project are decided on it by `AccessMiddleware` (unknown and invisible projects answer 404 alike);
/// the admin service checks the resource inside the project before anything changes.
struct ProjectsController {
    let admin: any AdminCatalog
    /// Keys that may go without a role_arn (the operator's `--cmek-server-credential-keys`).
    var cmekServerCredentialKeys: Set<String> = []

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/projects", .authenticated, handler: listProjects)
        routes.admin(.post, "/admin/projects", .organization(.projectsCreate), audit: .kind(.createProject), handler: createProject)
        routes.admin(.get, "/admin/projects/:project_id", .projectAdmin(.projectRead), handler: describeProject)
        routes.admin(.patch, "/admin/projects/:project_id", .projectAdmin(.projectWrite), audit: .kind(.updateProject), handler: updateProject)
        routes.admin(.delete, "/admin/projects/:project_id", .projectAdmin(.projectDelete), audit: .kind(.deleteProject), handler: deleteProject)

        routes.admin(.get, "/admin/projects/:project_id/cmek-keys", .projectAdmin(.projectRead), handler: listCMEKKeys)
        routes.admin(.post, "/admin/projects/:project_id/cmek-keys", .projectAdmin(.projectWrite), audit: .kind(.createCMEKKey), handler: createCMEKKey)
        routes.admin(.delete, "/admin/projects/:project_id/cmek-keys/:cmek_key_id", .projectAdmin(.projectWrite), audit: .kind(.deleteCMEKKey), handler: deleteCMEKKey)
        routes.admin(.get, "/admin/projects/:project_id/private-endpoints", .projectAdmin(.projectRead), handler: listPrivateEndpoints)
        routes.admin(.post, "/admin/projects/:project_id/private-endpoints", .projectAdmin(.projectWrite), audit: .kind(.createPrivateEndpoint), handler: createPrivateEndpoint)
        routes.admin(
            .get, "/admin/projects/:project_id/private-endpoints/:private_endpoint_id", .projectAdmin(.projectRead), handler: describePrivateEndpoint
        )
        routes.admin(
            .delete, "/admin/projects/:project_id/private-endpoints/:private_endpoint_id", .projectAdmin(.projectWrite), audit: .kind(.deletePrivateEndpoint), handler: deletePrivateEndpoint
        )

        routes.admin(.get, "/admin/projects/:project_id/api-keys", .projectAdmin(.apiKeysRead), handler: listAPIKeys)
        routes.admin(.post, "/admin/projects/:project_id/api-keys", .projectAdmin(.apiKeysWrite), audit: .kind(.createAPIKey), handler: createAPIKey)
        routes.admin(.get, "/admin/api-keys/:api_key_id", .projectAdmin(.apiKeysRead), handler: describeAPIKey)
        routes.admin(.patch, "/admin/api-keys/:api_key_id", .projectAdmin(.apiKeysWrite), audit: .kind(.updateAPIKey), handler: updateAPIKey)
        routes.admin(.delete, "/admin/api-keys/:api_key_id", .projectAdmin(.apiKeysWrite), audit: .kind(.deleteAPIKey), handler: deleteAPIKey)
    }

    // MARK: Projects

    @Sendable func listProjects(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, DataListWire(data: try await admin.projects(for: call.pass).map(ProjectWire.init)))
    }

    @Sendable func createProject(_ call: AdminCall) async throws -> Response {
        let project = try await createProject(try await call.decode(CreateProjectRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .ok, ProjectWire(project))
    }

    /// Creates a project, named in the call's audit event (the Admin API's route and the console's form).
    func createProject(_ body: CreateProjectRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> ProjectInfo {
        var parameters: [String: JSONValue] = ["name": .string(body.name)]
        if let tags = body.tags { parameters["tags"] = Self.auditedTags(tags) }
        context.audit(id: .string(body.name), name: body.name, parameters)
        return try await admin.createProject(
            name: body.name, maxPods: body.max_pods ?? 0, forceEncryptionWithCMEK: body.force_encryption_with_cmek ?? false, tags: body.tags ?? [:], for: pass
        )
    }

    @Sendable func describeProject(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        return try WireJSON.response(status: .ok, ProjectWire(try await admin.project(id, for: call.pass)))
    }

    @Sendable func updateProject(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("project_id", notFound: "Project")
        let project = try await updateProject(id, try await call.decode(UpdateProjectRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .ok, ProjectWire(project))
    }

    /// Changes a project's settings, named in the call's audit event.
    func updateProject(_ id: UUID, _ body: UpdateProjectRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> ProjectInfo {
        let change = ProjectChange(
            name: body.name, maxPods: body.max_pods, forceEncryptionWithCMEK: body.force_encryption_with_cmek,
            privateEndpointAccessOnly: body.private_endpoint_access_only, tags: body.tags
        )
        var parameters: [String: JSONValue] = [:]
        if let name = body.name { parameters["name"] = .string(name) }
        if let pods = body.max_pods { parameters["max_pods"] = .number(Double(pods)) }
        if let cmek = body.force_encryption_with_cmek { parameters["force_encryption_with_cmek"] = .bool(cmek) }
        if let privateOnly = body.private_endpoint_access_only { parameters["private_endpoint_access_only"] = .bool(privateOnly) }
        if let tags = body.tags { parameters["tags"] = Self.auditedTags(tags) }
        context.audit(parameters)
        let project = try await admin.updateProject(id, change, for: pass)
        context.audit(id: .string(project.name), name: project.name)
        return project
    }

    /// What an audit event keeps of tags in a request: the keys set and removed (values are customer text).
    static func auditedTags(_ tags: [String: String]) -> JSONValue {
        .array(tags.keys.sorted().prefix(20).map { .string(String($0.prefix(80))) })
    }

    @Sendable func deleteProject(_ call: AdminCall) async throws -> Response {
        try await deleteProject(try call.uuid("project_id", notFound: "Project"), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Deletes a project, named in the call's audit event.
    func deleteProject(_ id: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        let project = try await admin.project(id, for: pass)
        context.audit(id: .string(project.name), name: project.name)
        try await admin.deleteProject(id, for: pass)
    }

    // MARK: Customer-managed keys

    @Sendable func listCMEKKeys(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        return try WireJSON.response(status: .ok, DataListWire(data: try await admin.cmekKeys(inProject: project, for: call.pass).map(CMEKKeyWire.init)))
    }

    @Sendable func createCMEKKey(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let key = try await createCMEKKey(inProject: project, try await call.decode(CreateCMEKKeyRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .created, CMEKKeyWire(key))
    }

    /// Adds a customer-managed key to a project, named in the call's audit event.
    func createCMEKKey(inProject project: UUID, _ body: CreateCMEKKeyRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> CMEKKey {
        var parameters: [String: JSONValue] = ["name": .string(body.name), "key_arn": .string(body.key_arn)]
        if let role = body.role_arn { parameters["role_arn"] = .string(role) }
        context.audit(name: body.name, parameters)
        guard body.role_arn != nil || cmekServerCredentialKeys.contains(body.key_arn) else {
            throw ConiferError.invalidArgument(
                "role_arn is required: Conifer uses your KMS key through your IAM role (with external_id), not with this server's own credentials."
            )
        }
        let key = try await admin.createCMEKKey(
            inProject: project, name: body.name, roleARN: body.role_arn, keyARN: body.key_arn, externalID: body.external_id, for: pass
        )
        context.audit(id: .string(key.id.lowercasedString))
        return key
    }

    @Sendable func deleteCMEKKey(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        try await deleteCMEKKey(try call.uuid("cmek_key_id", notFound: "CMEK key"), inProject: project, call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Removes a customer-managed key from a project, named in the call's audit event.
    func deleteCMEKKey(_ id: UUID, inProject project: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        context.audit(id: .string(id.lowercasedString))
        let key = try await admin.deleteCMEKKey(id, inProject: project, for: pass)
        context.audit(name: key.name, ["key_arn": .string(key.keyARN)])
    }

    // MARK: Private endpoints

    @Sendable func listPrivateEndpoints(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let endpoints = try await admin.privateEndpoints(inProject: project, for: call.pass)
        return try WireJSON.response(status: .ok, DataListWire(data: endpoints.map(PrivateEndpointWire.init)))
    }

    @Sendable func describePrivateEndpoint(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let id = try call.uuid("private_endpoint_id", notFound: "Private endpoint")
        return try WireJSON.response(status: .ok, PrivateEndpointWire(try await admin.privateEndpoint(id, inProject: project, for: call.pass)))
    }

    @Sendable func createPrivateEndpoint(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let endpoint = try await createPrivateEndpoint(inProject: project, try await call.decode(CreatePrivateEndpointRequestWire.self), call.context, call.pass)
        return try WireJSON.response(status: .created, PrivateEndpointWire(endpoint))
    }

    /// Adds a private endpoint to a project, named in the call's audit event.
    func createPrivateEndpoint(
        inProject project: UUID, _ body: CreatePrivateEndpointRequestWire, _ context: ConiferRequestContext, _ pass: AdminPass
    ) async throws -> PrivateEndpoint {
        var parameters: [String: JSONValue] = ["name": .string(body.name), "region": .string(body.region)]
        if let id = body.vpc_endpoint_id { parameters["vpc_endpoint_id"] = .string(id) }
        if let cidrs = body.allowed_cidrs { parameters["allowed_cidrs"] = .array(cidrs.prefix(50).map { .string(String($0.prefix(64))) }) }
        context.audit(name: body.name, parameters)
        let endpoint = try await admin.createPrivateEndpoint(
            inProject: project, name: body.name, region: body.region, vpcEndpointID: body.vpc_endpoint_id, allowedCIDRs: body.allowed_cidrs, for: pass
        )
        context.audit(id: .string(endpoint.id.lowercasedString))
        return endpoint
    }

    @Sendable func deletePrivateEndpoint(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        try await deletePrivateEndpoint(try call.uuid("private_endpoint_id", notFound: "Private endpoint"), inProject: project, call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Removes a private endpoint from a project, named in the call's audit event.
    func deletePrivateEndpoint(_ id: UUID, inProject project: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        context.audit(id: .string(id.lowercasedString))
        let endpoint = try await admin.deletePrivateEndpoint(id, inProject: project, for: pass)
        context.audit(name: endpoint.name, ["region": .string(endpoint.region)])
    }

    // MARK: API keys

    @Sendable func listAPIKeys(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        return try WireJSON.response(status: .ok, DataListWire(data: try await admin.apiKeys(inProject: project, for: call.pass).map(APIKeyWire.init)))
    }

    @Sendable func createAPIKey(_ call: AdminCall) async throws -> Response {
        let project = try call.uuid("project_id", notFound: "Project")
        let body = try await call.decode(APIKeyRequestWire.self)
        guard let name = body.name else { throw ConiferError(.unprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `name`") }
        let created = try await createAPIKey(inProject: project, name: name, roles: try body.parsedRoles() ?? [.projectEditor], call.context, call.pass)
        let info = APIKeyInfo(id: created.id, projectID: created.projectID, name: created.name, roles: created.roles, createdAt: Date())
        return try WireJSON.response(status: .created, APIKeyWithSecretWire(key: APIKeyWire(info), value: created.value))
    }

    /// Creates a project API key, named in the call's audit event; the answer holds its only copy of the secret.
    func createAPIKey(inProject project: UUID, name: String, roles: [APIKeyRole], _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> CreatedAPIKey {
        context.audit(name: name, ["name": .string(name), "roles": .array(roles.map { .string($0.rawValue) })])
        let created = try await admin.createAPIKey(inProject: project, name: name, roles: roles, for: pass)
        context.audit(id: .string(created.id.lowercasedString))
        return created
    }

    @Sendable func describeAPIKey(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("api_key_id", notFound: "API key")
        return try WireJSON.response(status: .ok, APIKeyWire(try await admin.apiKey(id, for: call.pass)))
    }

    @Sendable func updateAPIKey(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("api_key_id", notFound: "API key")
        let body = try await call.decode(APIKeyRequestWire.self)
        return try WireJSON.response(status: .ok, APIKeyWire(try await updateAPIKey(id, name: body.name, roles: try body.parsedRoles(), call.context, call.pass)))
    }

    /// Renames a key or replaces its roles, named in the call's audit event with the changes asked for.
    func updateAPIKey(_ id: UUID, name: String?, roles: [APIKeyRole]?, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> APIKeyInfo {
        var parameters: [String: JSONValue] = [:]
        if let name { parameters["name"] = .string(name) }
        if let roles { parameters["roles"] = .array(roles.map { .string($0.rawValue) }) }
        context.audit(parameters)
        let updated = try await admin.updateAPIKey(id, name: name, roles: roles, for: pass)
        context.audit(name: updated.name)
        return updated
    }

    @Sendable func deleteAPIKey(_ call: AdminCall) async throws -> Response {
        try await admin.deleteAPIKey(try call.uuid("api_key_id", notFound: "API key"), for: call.pass)
        return WireJSON.empty(status: .accepted)
    }
}
