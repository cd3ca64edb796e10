import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// The Admin API's organization routes (`/admin/organizations`), with bearer tokens from `/oauth/token`. The
/// routes are decided by `AccessMiddleware` before a handler runs; deleting an organization also retires its
/// indexes' and backups' files and its audit export.
struct OrganizationsController {
    let admin: any AdminCatalog
    let audit: AuditLogService
    let indexes: IndexService
    let backups: BackupService

    func register(in routes: RouteTable) {
        routes.admin(.get, "/admin/organizations", .authenticated, handler: listOrganizations)
        routes.admin(.get, "/admin/organizations/:organization_id", .organization(.organizationRead), handler: describeOrganization)
        routes.admin(.patch, "/admin/organizations/:organization_id", .organization(.organizationWrite), audit: .kind(.renameOrganization), handler: updateOrganization)
        routes.admin(.delete, "/admin/organizations/:organization_id", .organization(.organizationDelete), audit: .kind(.deleteOrganization), handler: deleteOrganization)
        routes.admin(.get, "/admin/organizations/:organization_id/billing", .organization(.billingRead), handler: describeBilling)
        routes.admin(
            .patch, "/admin/organizations/:organization_id/billing", .organization(.billingWrite), audit: .kind(.updateBillingDetails),
            handler: updateBilling
        )
    }

    // MARK: Organizations

    @Sendable func listOrganizations(_ call: AdminCall) async throws -> Response {
        try WireJSON.response(status: .ok, DataListWire(data: try await admin.organizations(for: call.pass).map(OrganizationWire.init)))
    }

    @Sendable func describeOrganization(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        return try WireJSON.response(status: .ok, OrganizationWire(try await admin.organization(id, for: call.pass)))
    }

    @Sendable func updateOrganization(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        _ = try await admin.organization(id, for: call.pass)
        let body = try await call.decode(NameRequestWire.self)
        guard let name = body.name else { throw ConiferError.invalidArgument("Nothing to change: pass name.") }
        return try WireJSON.response(status: .ok, OrganizationWire(try await renameOrganization(id, to: name, call.context, call.pass)))
    }

    /// Renames the organization, named in the call's audit event.
    func renameOrganization(_ id: UUID, to name: String, _ context: ConiferRequestContext, _ pass: AdminPass) async throws -> OrganizationInfo {
        context.audit(id: .string(name), name: name, ["name": .string(name)])
        return try await admin.renameOrganization(id, to: name, for: pass)
    }

    // MARK: Billing details

    /// Who receives the organization's invoices, and whether a paid plan still lacks that contact. Conifer
    /// processes no payments.
    @Sendable func describeBilling(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        return try WireJSON.response(status: .ok, BillingWire(try await admin.billing(organization: id, for: call.pass)))
    }

    /// Replaces the billing contact (every field checked first: bad input changes nothing). The audit event names
    /// the organization, not the contact.
    @Sendable func updateBilling(_ call: AdminCall) async throws -> Response {
        let id = try call.uuid("organization_id", notFound: "Organization")
        let organization = try await admin.organization(id, for: call.pass)
        let body = try await call.decode(BillingRequestWire.self)
        guard let contact = body.billing_contact else { throw ConiferError.invalidArgument("Nothing to change: pass billing_contact.") }
        call.context.audit(id: .string(organization.name), name: organization.name)
        return try WireJSON.response(status: .ok, BillingWire(try await admin.updateBilling(organization: id, contact: contact, for: call.pass)))
    }

    /// Deletes the caller's organization with everything under it; its indexes' data keys are destroyed at
    /// once. Its audit export first delivers what is pending and then, like a removed export, the deletion
    /// event itself.
    @Sendable func deleteOrganization(_ call: AdminCall) async throws -> Response {
        try await deleteOrganization(try call.uuid("organization_id", notFound: "Organization"), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Deletes the organization with its projects, indexes, backups and audit log, named in the call's audit event.
    func deleteOrganization(_ id: UUID, _ context: ConiferRequestContext, _ pass: AdminPass) async throws {
        let organization = try await admin.organization(id, for: pass)
        context.audit(id: .string(organization.name), name: organization.name, organizationName: organization.name)
        let deleted = try await admin.deleteOrganization(id, for: pass)
        await indexes.retire(deleted: deleted.indexIDs, organization: id)
        await backups.removeFiles(deleted.backupIDs)
        _ = try await audit.remove(organization: id)
    }
}
