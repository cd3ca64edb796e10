/// What every kind of caller may do on every route, written by hand from Pinecone's documented roles —
/// not read from the server's route table or from the roles' permission sets in `ConiferCore`.
///
/// Sources: docs.pinecone.io "Understanding projects" (API-key roles: ProjectEditor = control and data
/// plane read/write, ProjectViewer = read both, ControlPlane*/DataPlane* = one plane; membership roles:
/// ProjectOwner does everything in the project including renaming and deleting it, ProjectManager
/// manages members and API keys but not project settings, ProjectMember uses indexes and data and sees
/// keys and members; API keys never reach the Admin API), "Understanding organizations" (OrgOwner does
/// everything and is ProjectOwner of every project; OrgManager manages service accounts and members and
/// is ProjectManager everywhere; OrgMember sees the organization and its members and creates projects;
/// OrgBillingAdmin sees the organization and billing only). Where Pinecone is silent, Conifer's choice:
/// a resource in another project or organization is hidden (404, as if it did not exist); a caller
/// with no role in a project the Admin API path names gets 404; a bearer token naming a project of
/// another organization in `X-Project-Id` is refused (403) like one without a role there.
enum PermissionOracle {
    enum Outcome: Character {
        case unauthenticated = "U", denied = "D", hidden = "H", allowed = "A"
    }

    /// The callers of the matrix, in the order of the table's columns.
    enum Column: CaseIterable {
        // API keys of the main project (one role each, then the four two-plane combinations) and a
        // ProjectEditor key of another project of the same organization.
        case projectEditor, projectViewer, controlPlaneEditor, controlPlaneViewer, dataPlaneEditor, dataPlaneViewer
        case controlEditorDataEditor, controlEditorDataViewer, controlViewerDataEditor, controlViewerDataViewer
        case keyOfAnotherProject
        // Bearer tokens sent with `X-Project-Id` of the main project: service accounts with an organization
        // role (the last two also with an explicit project role), a user with OrgMember + ProjectMember,
        // and the owner of another organization.
        case orgOwner, orgManager, orgMember, orgBillingAdmin, orgMemberProjectOwner, orgMemberProjectManager
        case userProjectMember, ownerOfAnotherOrganization
    }

    /// Routes anyone may call without credentials.
    /// `GET /metrics` checks the operator's own token (MetricsTests).
    static let publicRoutes: Set<String> = [
        "GET /health", "GET /metrics", "POST /oauth/token", "POST /oauth/accept-invite",
        "GET /console/style.css", "GET /console/sign-in", "POST /console/sign-in", "GET /console/accept-invite", "POST /console/accept-invite",
        "GET /saml/:organization_id/metadata", "POST /saml/:organization_id/acs", "GET /console/sso",
    ]

    /// Routes whose allowed callers meet a precondition of the matrix's fixture instead: the main organization
    /// holds an index with deletion protection, so deleting it answers 412; the project of the CMEK cells already has its one
    /// customer-managed key, so adding another answers 409 (both change nothing).
    static let preconditionRoutes: [String: Int] = [
        "DELETE /admin/organizations/:organization_id": 412,
        "POST /admin/projects/:project_id/cmek-keys": 409,
    ]

    /// Routes whose handler answers 501 by design in this version (allowed callers get exactly 501).
    static let unimplementedRoutes: Set<String> = [
        "POST /data/:project_id/:index_name/records/namespaces/:namespace/upsert",
        "POST /data/:project_id/:index_name/records/namespaces/:namespace/search",
        "GET /data/:project_id/:index_name/bulk/imports",
        "POST /data/:project_id/:index_name/bulk/imports",
        "GET /data/:project_id/:index_name/bulk/imports/:import_id",
        "DELETE /data/:project_id/:index_name/bulk/imports/:import_id",
    ]

    // Column groups: six single-role keys | four two-role keys | key of another project | eight bearer tokens
    // (OrgOwner, OrgManager, OrgMember, OrgBillingAdmin, OrgMember+ProjectOwner, OrgMember+ProjectManager,
    // user OrgMember+ProjectMember, owner of another organization).
    // A allowed, D denied (403), H hidden (404), U unauthenticated (401).
    static let dataRead = "AADDAA AAAA H AADDAAAD"
    static let dataWrite = "ADDDAD ADAD H AADDAAAD"
    static let adminOnly = "UUUUUU UUUU U "

    static let table: [String: String] = [
        "GET /indexes": "AAAADD AAAA A AADDAAAD",
        "POST /indexes": "ADADDD AADD A AADDAAAD",
        "GET /indexes/:index_name": "AAAADD AAAA H AADDAAAD",
        "PATCH /indexes/:index_name": "ADADDD AADD H AADDAAAD",
        "DELETE /indexes/:index_name": "ADADDD AADD H AADDAAAD",

        // Backups, restore jobs, backup schedules and collections follow the control plane's roles.
        "POST /indexes/:index_name/backups": "ADADDD AADD H AADDAAAD",
        "GET /indexes/:index_name/backups": "AAAADD AAAA H AADDAAAD",
        "GET /backups": "AAAADD AAAA A AADDAAAD",
        "GET /backups/:backup_id": "AAAADD AAAA H AADDAAAD",
        "DELETE /backups/:backup_id": "ADADDD AADD H AADDAAAD",
        "POST /backups/:backup_id/create-index": "ADADDD AADD H AADDAAAD",
        "GET /restore-jobs": "AAAADD AAAA A AADDAAAD",
        "GET /restore-jobs/:job_id": "AAAADD AAAA H AADDAAAD",
        "POST /indexes/:index_name/backup-schedules": "ADADDD AADD H AADDAAAD",
        "GET /indexes/:index_name/backup-schedules": "AAAADD AAAA H AADDAAAD",
        "GET /backup-schedules/:schedule_id": "AAAADD AAAA H AADDAAAD",
        "PATCH /backup-schedules/:schedule_id": "ADADDD AADD H AADDAAAD",
        "DELETE /backup-schedules/:schedule_id": "ADADDD AADD H AADDAAAD",
        "GET /backup-schedules/:schedule_id/history": "AAAADD AAAA H AADDAAAD",
        // The source index of a new collection is named in the body: another project's key finds none (404).
        "POST /collections": "ADADDD AADD H AADDAAAD",
        "GET /collections": "AAAADD AAAA A AADDAAAD",
        "GET /collections/:collection_name": "AAAADD AAAA H AADDAAAD",
        "DELETE /collections/:collection_name": "ADADDD AADD H AADDAAAD",

        // Prometheus: an API key of the project the path names, with the right to list its indexes; a key of
        // another project is refused (403, whatever the project id), as the issue asks of Pinecone's endpoint.
        "GET /prometheus/projects/:project_id/metrics/discovery": "AAAADD AAAA D AADDAAAD",
        "GET /prometheus/projects/:project_id/metrics/indexes/:index_name": "AAAADD AAAA D AADDAAAD",

        "POST /data/:project_id/:index_name/vectors/upsert": dataWrite,
        "POST /data/:project_id/:index_name/query": dataRead,
        "GET /data/:project_id/:index_name/vectors/fetch": dataRead,
        "POST /data/:project_id/:index_name/vectors/fetch_by_metadata": dataRead,
        "POST /data/:project_id/:index_name/vectors/update": dataWrite,
        "POST /data/:project_id/:index_name/vectors/delete": dataWrite,
        "GET /data/:project_id/:index_name/vectors/list": dataRead,
        "POST /data/:project_id/:index_name/describe_index_stats": dataRead,
        "GET /data/:project_id/:index_name/namespaces": dataRead,
        "POST /data/:project_id/:index_name/namespaces": dataWrite,
        "GET /data/:project_id/:index_name/namespaces/:namespace": dataRead,
        "DELETE /data/:project_id/:index_name/namespaces/:namespace": dataWrite,
        "POST /data/:project_id/:index_name/records/namespaces/:namespace/upsert": dataWrite,
        "POST /data/:project_id/:index_name/records/namespaces/:namespace/search": dataRead,
        "GET /data/:project_id/:index_name/bulk/imports": dataRead,
        "POST /data/:project_id/:index_name/bulk/imports": dataWrite,
        "GET /data/:project_id/:index_name/bulk/imports/:import_id": dataRead,
        "DELETE /data/:project_id/:index_name/bulk/imports/:import_id": dataWrite,

        "GET /admin/organizations": adminOnly + "AAAAAAAA",
        "GET /admin/organizations/:organization_id": adminOnly + "AAAAAAAH",
        "PATCH /admin/organizations/:organization_id": adminOnly + "ADDDDDDH",
        "DELETE /admin/organizations/:organization_id": adminOnly + "ADDDDDDH",
        // Usage, cost, billing details and spend alerts: OrgOwner and OrgBillingAdmin only (usage and alerts are Conifer's
        // choice, per the roles above).
        "GET /admin/organizations/:organization_id/usage": adminOnly + "ADDADDDH",
        "GET /admin/organizations/:organization_id/billing": adminOnly + "ADDADDDH",
        "PATCH /admin/organizations/:organization_id/billing": adminOnly + "ADDADDDH",
        // Single sign-on: organization owners only (the settings decide who owns the organization's users).
        "GET /admin/organizations/:organization_id/sso": adminOnly + "ADDDDDDH",
        "PUT /admin/organizations/:organization_id/sso": adminOnly + "ADDDDDDH",
        "DELETE /admin/organizations/:organization_id/sso": adminOnly + "ADDDDDDH",
        "GET /admin/organizations/:organization_id/spend-alerts": adminOnly + "ADDADDDH",
        "POST /admin/organizations/:organization_id/spend-alerts": adminOnly + "ADDADDDH",
        "GET /admin/organizations/:organization_id/spend-alerts/:alert_id": adminOnly + "ADDADDDH",
        "PATCH /admin/organizations/:organization_id/spend-alerts/:alert_id": adminOnly + "ADDADDDH",
        "DELETE /admin/organizations/:organization_id/spend-alerts/:alert_id": adminOnly + "ADDADDDH",
        // The organization's mail (recipients' addresses, delivery errors): its owners only.
        "GET /admin/organizations/:organization_id/mail": adminOnly + "ADDDDDDH",

        // The console takes only its session cookie: no API key or bearer token reaches it (ConsoleTests signs in).
        "GET /console": adminOnly + "UUUUUUUU",
        "POST /console/sign-out": adminOnly + "UUUUUUUU",
        "GET /console/members": adminOnly + "UUUUUUUU",
        "POST /console/invites": adminOnly + "UUUUUUUU",
        "POST /console/invites/:invite_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/users/:user_id/role": adminOnly + "UUUUUUUU",
        "POST /console/users/:user_id/delete": adminOnly + "UUUUUUUU",
        "GET /console/service-accounts": adminOnly + "UUUUUUUU",
        "POST /console/service-accounts": adminOnly + "UUUUUUUU",
        "POST /console/service-accounts/:service_account_id/rotate-secret": adminOnly + "UUUUUUUU",
        "POST /console/service-accounts/:service_account_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/api-keys": adminOnly + "UUUUUUUU",
        "POST /console/api-keys/:api_key_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/cmek-keys": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/cmek-keys/:cmek_key_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/private-endpoints": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/private-endpoints/:private_endpoint_id/delete": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/indexes": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/indexes": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/indexes/:index_name": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/indexes/:index_name": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/indexes/:index_name/delete": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/indexes/:index_name/query": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/indexes/:index_name/metrics": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/indexes/:index_name/metrics/:chart": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/indexes/:index_name/backups": adminOnly + "UUUUUUUU",
        "GET /console/projects/:project_id/backups": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/backups/:backup_id/restore": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/backups/:backup_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/indexes/:index_name/backup-schedules": adminOnly + "UUUUUUUU",
        "GET /console/api-keys/:api_key_id": adminOnly + "UUUUUUUU",
        "POST /console/api-keys/:api_key_id": adminOnly + "UUUUUUUU",
        "POST /console/service-accounts/:service_account_id": adminOnly + "UUUUUUUU",
        "POST /console/organization": adminOnly + "UUUUUUUU",
        "POST /console/organization/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/backup-schedules/:schedule_id": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/backup-schedules/:schedule_id/delete": adminOnly + "UUUUUUUU",
        "POST /console/projects/:project_id/members": adminOnly + "UUUUUUUU",
        "POST /console/role-bindings/:role_binding_id/delete": adminOnly + "UUUUUUUU",
        "GET /console/single-sign-on": adminOnly + "UUUUUUUU",
        "POST /console/single-sign-on": adminOnly + "UUUUUUUU",
        "POST /console/single-sign-on/delete": adminOnly + "UUUUUUUU",
        "GET /console/audit-log": adminOnly + "UUUUUUUU",
        "POST /console/audit-log": adminOnly + "UUUUUUUU",
        "POST /console/audit-log/pause": adminOnly + "UUUUUUUU",
        "POST /console/audit-log/delete": adminOnly + "UUUUUUUU",
        "GET /console/billing": adminOnly + "UUUUUUUU",
        "POST /console/billing": adminOnly + "UUUUUUUU",
        "POST /console/spend-alerts": adminOnly + "UUUUUUUU",
        "POST /console/spend-alerts/:alert_id": adminOnly + "UUUUUUUU",
        "POST /console/spend-alerts/:alert_id/delete": adminOnly + "UUUUUUUU",

        "GET /admin/projects": adminOnly + "AAAAAAAA",
        "POST /admin/projects": adminOnly + "AAADAAAA",
        "GET /admin/projects/:project_id": adminOnly + "AAHHAAAH",
        "PATCH /admin/projects/:project_id": adminOnly + "ADHHADDH",
        "DELETE /admin/projects/:project_id": adminOnly + "ADHHADDH",

        // Customer-managed keys are project settings: ProjectOwner (and OrgOwner) set them, members see them.
        "GET /admin/projects/:project_id/cmek-keys": adminOnly + "AAHHAAAH",
        "POST /admin/projects/:project_id/cmek-keys": adminOnly + "ADHHADDH",
        "DELETE /admin/projects/:project_id/cmek-keys/:cmek_key_id": adminOnly + "ADHHADDH",

        // Private endpoints are project settings too.
        "GET /admin/projects/:project_id/private-endpoints": adminOnly + "AAHHAAAH",
        "POST /admin/projects/:project_id/private-endpoints": adminOnly + "ADHHADDH",
        "GET /admin/projects/:project_id/private-endpoints/:private_endpoint_id": adminOnly + "AAHHAAAH",
        "DELETE /admin/projects/:project_id/private-endpoints/:private_endpoint_id": adminOnly + "ADHHADDH",

        "GET /admin/projects/:project_id/api-keys": adminOnly + "AAHHAAAH",
        "POST /admin/projects/:project_id/api-keys": adminOnly + "AAHHAADH",
        "GET /admin/api-keys/:api_key_id": adminOnly + "AAHHAAAH",
        "PATCH /admin/api-keys/:api_key_id": adminOnly + "AAHHAADH",
        "DELETE /admin/api-keys/:api_key_id": adminOnly + "AAHHAADH",

        "GET /admin/service-accounts": adminOnly + "AADDDDDA",
        "POST /admin/service-accounts": adminOnly + "AADDDDDA",
        "GET /admin/service-accounts/:service_account_id": adminOnly + "AADDDDDH",
        "PATCH /admin/service-accounts/:service_account_id": adminOnly + "AADDDDDH",
        "DELETE /admin/service-accounts/:service_account_id": adminOnly + "AADDDDDH",
        "POST /admin/service-accounts/:service_account_id/rotate-secret": adminOnly + "AADDDDDH",

        "GET /admin/users": adminOnly + "AAADAAAA",
        "GET /admin/users/:user_id": adminOnly + "AAADAAAH",
        "DELETE /admin/users/:user_id": adminOnly + "AADHDDDH",
        "GET /admin/invites": adminOnly + "AAADAAAA",
        "POST /admin/invites": adminOnly + "AADDDDDA",
        "GET /admin/invites/:invite_id": adminOnly + "AAADAAAH",
        "DELETE /admin/invites/:invite_id": adminOnly + "AADDDDDH",
        "POST /admin/invites/:invite_id/resend": adminOnly + "AADDDDDH",

        "GET /admin/audit-log": adminOnly + "ADDDDDDA",
        "PUT /admin/audit-log": adminOnly + "ADDDDDDA",
        "PATCH /admin/audit-log": adminOnly + "ADDDDDDA",
        "DELETE /admin/audit-log": adminOnly + "ADDDDDDA",
        "GET /admin/audit-events": adminOnly + "ADDDDDDA",

        "GET /admin/role-bindings": adminOnly + "AAAAAAAA",
        "POST /admin/role-bindings": adminOnly + "AAHHAADH",
        "GET /admin/role-bindings/:role_binding_id": adminOnly + "AAHHAAAH",
        "DELETE /admin/role-bindings/:role_binding_id": adminOnly + "AAHHAADH",
    ]

    /// What `column` gets on `route` ("METHOD /path"); nil for a route the table does not list.
    static func expected(_ route: String, _ column: Column) -> Outcome? {
        outcomes[route]?[column]
    }

    /// The table's rows read once: route → caller → outcome.
    private static let outcomes: [String: [Column: Outcome]] = table.mapValues { row in
        let cells = row.filter { $0 != " " }.map { Outcome(rawValue: $0)! }
        precondition(cells.count == Column.allCases.count, "a row has \(cells.count) cells: \(row)")
        return Dictionary(uniqueKeysWithValues: zip(Column.allCases, cells))
    }

    // MARK: Target roles (SECURITY.md rule 9)

    /// Action → one string per caller, one cell per target. Callers: OrgOwner, OrgManager,
    /// OrgMember+ProjectOwner, OrgMember+ProjectManager. Targets (service accounts): OrgOwner, OrgManager,
    /// OrgMember, OrgMember+ProjectOwner, OrgMember+ProjectMember. Ranks are in the organization and in
    /// the main project, where OrgOwner/OrgManager imply ProjectOwner/ProjectManager. Acting on a principal
    /// that outranks the caller anywhere is 403; only OrgOwner and OrgManager manage service accounts and
    /// organization bindings; project bindings need ProjectManager or above in the project and compare
    /// project ranks only. "-": the target has no such binding.
    static let targetTable: [String: [String]] = [
        "rename account": ["AAAAA", "DAADA", "DDDDD", "DDDDD"],
        "rotate secret": ["AAAAA", "DAADA", "DDDDD", "DDDDD"],
        "rebind organization role": ["AAAAA", "DAADA", "DDDDD", "DDDDD"],
        "delete organization binding": ["AAAAA", "DAADA", "DDDDD", "DDDDD"],
        "delete account": ["AAAAA", "DAADA", "DDDDD", "DDDDD"],
        "rebind project role": ["AAAAA", "DAADA", "AAAAA", "DAADA"],
        "delete project binding": ["---AA", "---DA", "---AA", "---DA"],
    ]

    /// Users and invites whose organization role is OrgOwner, OrgManager, OrgMember; same callers.
    static let memberTable: [String: [String]] = [
        "remove user": ["AAA", "DAA", "DDD", "DDD"],
        "resend invite": ["AAA", "DAA", "DDD", "DDD"],
        "delete invite": ["AAA", "DAA", "DDD", "DDD"],
    ]

    /// How many cells the two target tables hold, and how many of them are denials.
    static var targetCells: (all: Int, denied: Int) {
        let rows: [String] = targetTable.values.flatMap { $0 } + memberTable.values.flatMap { $0 }
        let cells: [Character] = rows.flatMap { Array($0) }.filter { $0 != "-" }
        return (cells.count, cells.filter { $0 == "D" }.count)
    }

    /// Whether `caller` may do `action` on `target`, from `targetTable` or `memberTable`; nil for "-".
    static func targetAllowed(_ action: String, caller: Int, target: Int) -> Bool? {
        guard let rows = targetTable[action] ?? memberTable[action] else { preconditionFailure("no row for \(action)") }
        let row = Array(rows[caller])
        switch row[target] {
        case "A": return true
        case "D": return false
        default: return nil
        }
    }
}
