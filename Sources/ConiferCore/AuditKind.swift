/// One audited kind of action: its event's `action` and `resource_type`, and the form of its `resource_id`.
/// Routes name their kind in the route table (`RouteEntry.audit`); a handler may name a more precise one (a role
/// binding may be a member's new role), and background work names its own. Never found by matching strings.
public struct AuditKind: Sendable, Hashable {
    /// What an operator calls it ("create project"); unique among the kinds.
    public let name: String
    public let action: String
    public let resourceType: String
    /// How `resource_id` is formed: the catalogue's convention, which the handlers follow.
    public let resourceIDForm: String

    private init(_ name: String, _ action: String, _ resourceType: String, _ resourceIDForm: String) {
        self.name = name
        self.action = action
        self.resourceType = resourceType
        self.resourceIDForm = resourceIDForm
    }
}

/// The catalogue of audited actions: Pinecone's, with its `resource_id` conventions, and the operator and system
/// actions Conifer adds. Data-plane calls are not audited (as in Pinecone). Later features add a kind here.
extension AuditKind {
    public static let renameOrganization = AuditKind("rename organization", "update", "organization", "the new organization name")
    public static let deleteOrganization = AuditKind("delete organization", "delete", "organization", "the deleted organization name")
    public static let changePlan = AuditKind("change plan", "update", "organization", "the organization name")
    public static let updateBillingDetails = AuditKind("update billing details", "update", "billing", "the organization name")
    public static let userLogout = AuditKind("user logout", "logout", "user", "the user's email")
    public static let createSpendAlert = AuditKind("create spend alert", "create", "spend-alert", "the alert id")
    public static let updateSpendAlert = AuditKind("update spend alert", "update", "spend-alert", "the alert id (spike: spike)")
    public static let deleteSpendAlert = AuditKind("delete spend alert", "delete", "spend-alert", "the alert id")
    public static let spendAlertFired = AuditKind("spend alert fired", "alert", "spend-alert", "the alert id (spike: spike)")
    public static let inviteOrgMember = AuditKind("invite org member", "create", "user", "array of invited emails")
    public static let resendInvite = AuditKind("resend invite", "update", "invite", "invite id")
    public static let revokeInvite = AuditKind("revoke invite", "delete", "invite", "invite id")
    public static let acceptInvite = AuditKind("accept invite", "accept", "invite", "the invited email")
    public static let updateOrgMemberRole = AuditKind("update org member role", "update", "user", #"{"user": email, "role": new role}"#)
    public static let removeOrgMember = AuditKind("remove org member", "delete", "user", "email")
    public static let createProject = AuditKind("create project", "create", "project", "project name")
    public static let updateProject = AuditKind("update project", "update", "project", "project name")
    public static let deleteProject = AuditKind("delete project", "delete", "project", "project name")
    public static let createCMEKKey = AuditKind("create CMEK key", "create", "cmek-key", "CMEK key id")
    public static let deleteCMEKKey = AuditKind("delete CMEK key", "delete", "cmek-key", "CMEK key id")
    public static let createPrivateEndpoint = AuditKind("create private endpoint", "create", "private-endpoints", "private endpoint id")
    public static let deletePrivateEndpoint = AuditKind("delete private endpoint", "delete", "private-endpoints", "private endpoint id")
    public static let inviteProjectMember = AuditKind("invite project member", "create", "user", "array of emails")
    public static let updateProjectMemberRole = AuditKind("update project member role", "update", "user", #"{"user": email, "role": new role}"#)
    public static let removeProjectMember = AuditKind("remove project member", "delete", "user", #"{"user": email, "project": project name}"#)
    public static let createIndex = AuditKind("create index", "create", "index", "index name")
    public static let configureIndex = AuditKind("configure index", "update", "index", "index name")
    public static let deleteIndex = AuditKind("delete index", "delete", "index", "index name")
    public static let purgeIndex = AuditKind("purge index", "purge", "index", "index name (a system actor: the purge of a deleted index's files)")
    public static let createBackup = AuditKind("create backup", "create", "backup", "backup name")
    public static let deleteBackup = AuditKind("delete backup", "delete", "backup", "backup name")
    public static let createScheduledBackup = AuditKind("create scheduled backup", "create", "backup", "backup name (a system actor: the scheduler)")
    public static let deleteExpiredBackup = AuditKind("delete expired backup", "delete", "backup", "backup name (a system actor: retention)")
    public static let createBackupSchedule = AuditKind("create backup schedule", "create", "backup-schedule", "schedule name")
    public static let updateBackupSchedule = AuditKind("update backup schedule", "update", "backup-schedule", "schedule name")
    public static let deleteBackupSchedule = AuditKind("delete backup schedule", "delete", "backup-schedule", "schedule name")
    public static let createCollection = AuditKind("create collection", "create", "collection", "collection name")
    public static let deleteCollection = AuditKind("delete collection", "delete", "collection", "collection name")
    public static let userLogin = AuditKind("user login", "login", "user", "username (email)")
    public static let serviceAccountToken = AuditKind("service account token", "login", "service-account", "client id")
    public static let createAPIKey = AuditKind("create API key", "create", "api-key", "API key id")
    public static let updateAPIKey = AuditKind("update API key", "update", "api-key", "API key id")
    public static let deleteAPIKey = AuditKind("delete API key", "delete", "api-key", "API key id")
    public static let createServiceAccount = AuditKind("create service account", "create", "service-account", "service account id")
    public static let updateServiceAccount = AuditKind("update service account", "update", "service-account", "service account id")
    public static let rotateServiceAccountSecret = AuditKind("rotate service account secret", "rotate-secret", "service-account", "service account id")
    public static let deleteServiceAccount = AuditKind("delete service account", "delete", "service-account", "service account id")
    public static let createRoleBinding = AuditKind("create role binding", "create", "role-binding", "role binding id")
    public static let deleteRoleBinding = AuditKind("delete role binding", "delete", "role-binding", "role binding id")
    public static let enableAuditLog = AuditKind("enable audit log", "create", "audit-log", "destination (bucket/prefix)")
    public static let updateAuditLog = AuditKind("update audit log", "update", "audit-log", "destination (bucket/prefix)")
    public static let removeAuditLog = AuditKind("remove audit log", "delete", "audit-log", "destination (bucket/prefix)")
    public static let updateSSO = AuditKind("update SSO settings", "update", "sso", "the identity provider's entity id")
    public static let removeSSO = AuditKind("remove SSO settings", "delete", "sso", "the identity provider's entity id")

    /// Every kind.
    public static let all: [AuditKind] = [
        .renameOrganization,
        .deleteOrganization,
        .changePlan,
        .updateBillingDetails,
        .userLogout,
        .createSpendAlert,
        .updateSpendAlert,
        .deleteSpendAlert,
        .spendAlertFired,
        .inviteOrgMember,
        .resendInvite,
        .revokeInvite,
        .acceptInvite,
        .updateOrgMemberRole,
        .removeOrgMember,
        .createProject,
        .updateProject,
        .deleteProject,
        .createCMEKKey,
        .deleteCMEKKey,
        .createPrivateEndpoint,
        .deletePrivateEndpoint,
        .inviteProjectMember,
        .updateProjectMemberRole,
        .removeProjectMember,
        .createIndex,
        .configureIndex,
        .deleteIndex,
        .purgeIndex,
        .createBackup,
        .deleteBackup,
        .createScheduledBackup,
        .deleteExpiredBackup,
        .createBackupSchedule,
        .updateBackupSchedule,
        .deleteBackupSchedule,
        .createCollection,
        .deleteCollection,
        .userLogin,
        .serviceAccountToken,
        .createAPIKey,
        .updateAPIKey,
        .deleteAPIKey,
        .createServiceAccount,
        .updateServiceAccount,
        .rotateServiceAccountSecret,
        .deleteServiceAccount,
        .createRoleBinding,
        .deleteRoleBinding,
        .enableAuditLog,
        .updateAuditLog,
        .removeAuditLog,
        .updateSSO,
        .removeSSO,
    ]
}
