/// One audited kind of action: its event's `action` and `resource_type`, the form of its `resource_id`, and the
/// routes whose calls it records by default (a handler may name a more precise kind, as role bindings do).
public struct AuditKind: Sendable, Hashable {
    /// What an operator calls it ("create project"); unique in the catalogue.
    public let name: String
    public let action: String
    public let resourceType: String
    /// How `resource_id` is formed: the catalogue's convention, which the handlers follow.
    public let resourceIDForm: String
    /// `METHOD /path/pattern` of the routes recorded as this kind, as the route table spells them.
    public let routes: [String]
}

/// The catalogue of audited actions: Pinecone's, with its `resource_id` conventions, and the operator actions
/// Conifer adds. A call is audited when its route (or its handler) names a row here; data-plane calls are
/// not audited (as in Pinecone). Later features add a row.
public enum AuditCatalogue {
    public static let all: [AuditKind] = [
        // name, action, resource_type, resource_id, routes
        row("rename organization", "update", "organization", "the new organization name", "PATCH /admin/organizations/:organization_id"),
        row("delete organization", "delete", "organization", "the deleted organization name", "DELETE /admin/organizations/:organization_id"),
        row("change plan", "update", "organization", "the organization name"),
        row("invite org member", "create", "user", "array of invited emails", "POST /admin/invites"),
        row("resend invite", "update", "invite", "invite id", "POST /admin/invites/:invite_id/resend"),
        row("revoke invite", "delete", "invite", "invite id", "DELETE /admin/invites/:invite_id"),
        row("accept invite", "accept", "invite", "the invited email"),
        row("update org member role", "update", "user", #"{"user": email, "role": new role}"#),
        row("remove org member", "delete", "user", "email", "DELETE /admin/users/:user_id"),
        row("create project", "create", "project", "project name", "POST /admin/projects"),
        row("update project", "update", "project", "project name", "PATCH /admin/projects/:project_id"),
        row("delete project", "delete", "project", "project name", "DELETE /admin/projects/:project_id"),
        row("create CMEK key", "create", "cmek-key", "CMEK key id", "POST /admin/projects/:project_id/cmek-keys"),
        row("delete CMEK key", "delete", "cmek-key", "CMEK key id", "DELETE /admin/projects/:project_id/cmek-keys/:cmek_key_id"),
        row("create private endpoint", "create", "private-endpoints", "private endpoint id", "POST /admin/projects/:project_id/private-endpoints"),
        row(
            "delete private endpoint", "delete", "private-endpoints", "private endpoint id",
            "DELETE /admin/projects/:project_id/private-endpoints/:private_endpoint_id"
        ),
        row("invite project member", "create", "user", "array of emails"),
        row("update project member role", "update", "user", #"{"user": email, "role": new role}"#),
        row("remove project member", "delete", "user", #"{"user": email, "project": project name}"#),
        row("create index", "create", "index", "index name", "POST /indexes", "POST /backups/:backup_id/create-index"),
        row("configure index", "update", "index", "index name", "PATCH /indexes/:index_name"),
        row("delete index", "delete", "index", "index name", "DELETE /indexes/:index_name"),
        row("purge index", "purge", "index", "index name (a system actor: the purge of a deleted index's files)"),
        row("create backup", "create", "backup", "backup name", "POST /indexes/:index_name/backups"),
        row("delete backup", "delete", "backup", "backup name", "DELETE /backups/:backup_id"),
        row("create scheduled backup", "create", "backup", "backup name (a system actor: the scheduler)"),
        row("delete expired backup", "delete", "backup", "backup name (a system actor: retention)"),
        row("create backup schedule", "create", "backup-schedule", "schedule name", "POST /indexes/:index_name/backup-schedules"),
        row("update backup schedule", "update", "backup-schedule", "schedule name", "PATCH /backup-schedules/:schedule_id"),
        row("delete backup schedule", "delete", "backup-schedule", "schedule name", "DELETE /backup-schedules/:schedule_id"),
        row("create collection", "create", "collection", "collection name", "POST /collections"),
        row("delete collection", "delete", "collection", "collection name", "DELETE /collections/:collection_name"),
        row("user login", "login", "user", "username (email)"),
        row("service account token", "login", "service-account", "client id"),
        row("create API key", "create", "api-key", "API key id", "POST /admin/projects/:project_id/api-keys"),
        row("update API key", "update", "api-key", "API key id", "PATCH /admin/api-keys/:api_key_id"),
        row("delete API key", "delete", "api-key", "API key id", "DELETE /admin/api-keys/:api_key_id"),
        row("create service account", "create", "service-account", "service account id", "POST /admin/service-accounts"),
        row("update service account", "update", "service-account", "service account id", "PATCH /admin/service-accounts/:service_account_id"),
        row("rotate service account secret", "rotate-secret", "service-account", "service account id",
            "POST /admin/service-accounts/:service_account_id/rotate-secret"),
        row("delete service account", "delete", "service-account", "service account id", "DELETE /admin/service-accounts/:service_account_id"),
        row("create role binding", "create", "role-binding", "role binding id", "POST /admin/role-bindings"),
        row("delete role binding", "delete", "role-binding", "role binding id", "DELETE /admin/role-bindings/:role_binding_id"),
        row("enable audit log", "create", "audit-log", "destination (bucket/prefix)", "PUT /admin/audit-log"),
        row("update audit log", "update", "audit-log", "destination (bucket/prefix)", "PATCH /admin/audit-log"),
        row("remove audit log", "delete", "audit-log", "destination (bucket/prefix)", "DELETE /admin/audit-log"),
    ]

    /// State-changing routes outside the data plane (which is not audited, as in Pinecone) whose events their
    /// handler names, with the kinds. A test walks the route table: every other route that changes state has a
    /// catalogue row, so none ships unaudited.
    public static let recordedByHandler: [String: String] = [
        "POST /oauth/token": "user login or service account token, by grant type",
        "POST /oauth/accept-invite": "accept invite",
    ]

    private static func row(_ name: String, _ action: String, _ type: String, _ form: String, _ routes: String...) -> AuditKind {
        AuditKind(name: name, action: action, resourceType: type, resourceIDForm: form, routes: routes)
    }

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    private static let byRoute: [String: AuditKind] = {
        var routes: [String: AuditKind] = [:]
        for kind in all { for route in kind.routes { routes[route] = kind } }
        return routes
    }()

    /// The kind a route records by default, or nil when its calls are not audited.
    public static func kind(route: String) -> AuditKind? { byRoute[route] }

    /// The kind with this catalogue name, or nil.
    public static func kind(named name: String) -> AuditKind? { byName[name] }
}
