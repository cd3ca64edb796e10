import ConiferCore
import Foundation
import Testing
@testable import ConiferAccess

/// The Admin API's rules, against the services and an in-memory catalog (no HTTP): what a caller sees, what it
/// may change, no escalation, the last owner, plan gates, and what a project must hold no more before it goes.
/// The HTTP suites keep the wire, the route table and the permission matrix. Each test runs on the SQLite catalog
/// and on the PostgreSQL one.
@Suite struct AdminServiceTests {
    struct Fixture {
        let catalog: CatalogService
        let admin: AdminService
        let boot: BootstrapResult
        let owner: Identity

        init(_ kind: TestStore) async throws {
            let store = try await kind.make()
            catalog = CatalogService(store: store)
            admin = AdminService(store: store)
            boot = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: nil))
            owner = try await Self.identity(admin, try #require(try await admin.bootstrapServiceAccount(clientID: nil, clientSecret: nil)))
        }

        static func identity(_ admin: AdminService, _ account: CreatedServiceAccount) async throws -> Identity {
            try #require(try await admin.identity(serviceAccount: account.account.id, generation: 1))
        }

        /// A new service account of the organization with `role`, as its identity.
        func account(_ name: String, _ role: OrganizationRole) async throws -> Identity {
            try await Self.identity(admin, try await admin.createServiceAccount(name: name, role: role, for: owner.admit()))
        }

        /// The identity again, with the bindings it holds now.
        func reloaded(_ identity: Identity) async throws -> Identity {
            guard case .serviceAccount(let id) = identity.kind else { throw ConiferError(.internalError, "a user") }
            return try #require(try await admin.identity(serviceAccount: id, generation: 1))
        }
    }

    static func code(_ work: () async throws -> Void) async -> ConiferError.Code? {
        do {
            try await work()
            return nil
        } catch let error as ConiferError {
            return error.code
        } catch {
            return .internalError
        }
    }

    @Test(arguments: TestStore.available) func aProjectIsInvisibleToWhoHasNoRoleInItAndReadOnlyToAViewer(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let member = try await f.account("member", .member)
        let hidden = try await f.admin.createProject(name: "hidden", maxPods: 0, forceEncryptionWithCMEK: false, for: f.owner.admit())
        #expect(await Self.code { _ = try await f.admin.project(hidden.id, for: member.admit()) } == .notFound)
        #expect(await Self.code { _ = try await f.admin.project(UUID(), for: member.admit()) } == .notFound, "unknown and invisible alike")
        #expect(try await f.admin.projects(for: member.admit()).map(\.name) == [])

        guard case .serviceAccount(let memberID) = member.kind else { return }
        _ = try await f.admin.bindRole(
            principalType: .serviceAccount, principalID: memberID, resourceType: .project, resourceID: hidden.id, role: "ProjectMember",
            for: f.owner.admit()
        )
        let viewer = try await f.reloaded(member)
        #expect(try await f.admin.project(hidden.id, for: viewer.admit()).name == "hidden")
        #expect(await Self.code { _ = try await f.admin.updateProject(hidden.id, ProjectChange(name: "mine"), for: viewer.admit()) } == .permissionDenied)
        #expect(await Self.code { _ = try await f.admin.createAPIKey(inProject: hidden.id, name: "k", roles: [.projectEditor], for: viewer.admit()) }
            == .permissionDenied)
        #expect(try await f.admin.project(hidden.id, for: f.owner.admit()).name == "hidden", "nothing changed")
    }

    @Test(arguments: TestStore.available) func nobodyGrantsOrActsOnRightsItDoesNotHold(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let manager = try await f.account("manager", .manager)
        // A manager may not make an owner, nor a service account with more rights than its own.
        #expect(await Self.code { _ = try await f.admin.createServiceAccount(name: "boss", role: .owner, for: manager.admit()) } == .permissionDenied)
        guard case .serviceAccount(let managerID) = manager.kind, case .serviceAccount(let ownerID) = f.owner.kind else { return }
        #expect(await Self.code {
            _ = try await f.admin.bindRole(
                principalType: .serviceAccount, principalID: managerID, resourceType: .organization, resourceID: nil, role: "OrgOwner", for: manager.admit()
            )
        } == .permissionDenied)
        // Nor rotate, rename or delete the owner's account (whose secret would be its rights).
        #expect(await Self.code { _ = try await f.admin.rotateServiceAccountSecret(ownerID, for: manager.admit()) } == .permissionDenied)
        #expect(await Self.code { try await f.admin.deleteServiceAccount(ownerID, for: manager.admit()) } == .permissionDenied)
        // In a project, a member grants nothing above its own role.
        let project = f.boot.projectID
        let member = try await f.account("member", .member)
        guard case .serviceAccount(let memberID) = member.kind else { return }
        _ = try await f.admin.bindRole(
            principalType: .serviceAccount, principalID: memberID, resourceType: .project, resourceID: project, role: "ProjectManager", for: f.owner.admit()
        )
        let projectManager = try await f.reloaded(member)
        #expect(await Self.code {
            _ = try await f.admin.bindRole(
                principalType: .serviceAccount, principalID: managerID, resourceType: .project, resourceID: project, role: "ProjectOwner",
                for: projectManager.admit()
            )
        } == .permissionDenied)
        #expect(try await f.admin.serviceAccount(ownerID, for: f.owner.admit()).name == "bootstrap")
    }

    @Test(arguments: TestStore.available) func theOrganizationKeepsAnOwner(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let ownerBinding = try #require(try await f.admin.roleBindings(RoleBindingFilter(role: "OrgOwner"), for: f.owner.admit()).first)
        #expect(await Self.code { try await f.admin.deleteRoleBinding(ownerBinding.id, for: f.owner.admit()) } == .failedPrecondition)
        let second = try await f.account("second-owner", .owner)
        #expect(second.organizationRole == .owner)
        try await f.admin.deleteRoleBinding(ownerBinding.id, for: f.owner.admit())
        #expect(try await f.admin.roleBindings(RoleBindingFilter(role: "OrgOwner"), for: second.admit()).count == 1)
    }

    @Test(arguments: TestStore.available) func plansGateKeysEndpointsAndServiceAccounts(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let project = f.boot.projectID
        let keyARN = "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"
        let role = "arn:aws:iam::123456789012:role/conifer"
        _ = try await f.admin.setPlan(.standard, organization: nil)
        #expect(await Self.code {
            _ = try await f.admin.createCMEKKey(inProject: project, name: "k", roleARN: role, keyARN: keyARN, externalID: nil, for: f.owner.admit())
        } == .paymentRequired)
        #expect(await Self.code {
            _ = try await f.admin.createPrivateEndpoint(
                inProject: project, name: "e", region: "us-east-1", vpcEndpointID: "vpce-0123456789abcdef0", allowedCIDRs: nil, for: f.owner.admit()
            )
        } == .paymentRequired)
        #expect(await Self.code { _ = try await f.admin.updateProject(project, ProjectChange(privateEndpointAccessOnly: true), for: f.owner.admit()) }
            == .paymentRequired)
        #expect(await Self.code { _ = try await f.admin.createServiceAccount(name: "ci", role: .member, for: f.owner.admit()) } == .paymentRequired)
        #expect(try await f.admin.cmekKeys(inProject: project, for: f.owner.admit()).isEmpty)

        _ = try await f.admin.setPlan(.enterprise, organization: nil)
        // A key comes before the project's first index, so that every index is under it.
        let pass = try #require(try await f.catalog.authenticate(apiKey: f.boot.apiKeyValue)).authorize(.indexesWrite)
        _ = try await f.catalog.createIndex(IndexCreation(name: "first", dimension: 3), pass: pass)
        #expect(await Self.code {
            _ = try await f.admin.createCMEKKey(inProject: project, name: "k", roleARN: role, keyARN: keyARN, externalID: nil, for: f.owner.admit())
        } == .failedPrecondition)
        let fresh = try await f.admin.createProject(name: "keyed", maxPods: 0, forceEncryptionWithCMEK: true, for: f.owner.admit())
        let key = try await f.admin.createCMEKKey(inProject: fresh.id, name: "k", roleARN: role, keyARN: keyARN, externalID: nil, for: f.owner.admit())
        #expect(key.projectID == fresh.id)
        #expect(await Self.code {
            _ = try await f.admin.createCMEKKey(inProject: fresh.id, name: "k2", roleARN: role, keyARN: keyARN, externalID: nil, for: f.owner.admit())
        } == .alreadyExists, "one key per project, fixed once set")
    }

    @Test(arguments: TestStore.available) func aProjectGoesOnlyOnceItsIndexesAndBackupsAreGone(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let project = f.boot.projectID
        let pass = try #require(try await f.catalog.authenticate(apiKey: f.boot.apiKeyValue))
        _ = try await f.catalog.createIndex(IndexCreation(name: "still-here", dimension: 3), pass: pass.authorize(.indexesWrite))
        #expect(await Self.code { try await f.admin.deleteProject(project, for: f.owner.admit()) } == .failedPrecondition)
        _ = try await f.catalog.deleteIndex(named: "still-here", pass: pass.authorize(.indexesWrite))
        try await f.admin.deleteProject(project, for: f.owner.admit())
        #expect(await Self.code { _ = try await f.admin.project(project, for: f.owner.admit()) } == .notFound)
        #expect(try await f.catalog.authenticate(apiKey: f.boot.apiKeyValue) == nil, "its keys went with it")
    }

    @Test(arguments: TestStore.available) func anAPIKeyHoldsOneValidSetOfRolesAndItsSecretIsShownOnce(_ store: TestStore) async throws {
        let f = try await Fixture(store)
        let project = f.boot.projectID
        for roles: [APIKeyRole] in [[], [.projectEditor, .dataPlaneViewer], [.dataPlaneViewer, .dataPlaneEditor], [.controlPlaneEditor, .controlPlaneViewer]] {
            #expect(await Self.code { _ = try await f.admin.createAPIKey(inProject: project, name: "k", roles: roles, for: f.owner.admit()) }
                == .invalidArgument, "\(roles)")
        }
        let created = try await f.admin.createAPIKey(inProject: project, name: "ci", roles: [.controlPlaneViewer, .dataPlaneEditor], for: f.owner.admit())
        let principal = try #require(try await f.catalog.authenticate(apiKey: created.value))
        #expect(principal.permissions == [.indexesRead, .dataRead, .dataWrite])
        #expect(try await f.admin.apiKeys(inProject: project, for: f.owner.admit()).map(\.name).sorted() == ["ci", "default"])
        try await f.admin.deleteAPIKey(created.id, for: f.owner.admit())
        #expect(try await f.catalog.authenticate(apiKey: created.value) == nil, "a deleted key stops working at once")
    }
}
