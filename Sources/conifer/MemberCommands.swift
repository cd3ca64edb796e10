import ArgumentParser
import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferServer
import Foundation

struct ServiceAccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-account", abstract: "Manage service accounts and their project connections.",
        subcommands: [Create.self, List.self, Update.self, RotateSecret.self, Delete.self, Connect.self, Disconnect.self]
    )
    static let columns = ["id", "name", "client_id", "created_at"]

    static func printSecret(_ reply: ServerClient.Reply, json: Bool) {
        if json { return printJSON(reply.raw) }
        let object = reply.body as? [String: Any] ?? [:]
        let account = object["service_account"] as? [String: Any] ?? [:]
        print("Service account \(describe(account["id"])) (\(describe(account["name"]))). Credentials, shown only this once:")
        print("    client id:     \(describe(account["client_id"]))")
        print("    client secret: \(describe(object["client_secret"]))")
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: .shortAndLong, help: "Name.") var name: String
        @Option(help: "Organization role: OrgOwner, OrgManager, OrgMember, OrgBillingAdmin.") var role: String = "OrgMember"
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let reply = try await session.client().send(
                    .POST, "/admin/service-accounts", body: CreateServiceAccountRequestWire(name: name, role_bindings: [.organization(role)])
                )
                ServiceAccountCommand.printSecret(reply, json: options.json)
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                show(try await session.client().send(.GET, "/admin/service-accounts"), json: options.json, columns: ServiceAccountCommand.columns, list: true)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Service account id.") var id: String
        @Option(name: .shortAndLong, help: "New name.") var name: String?
        @Option(help: "New organization role.") var role: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let client = try await session.client()
                if let role {
                    _ = try await client.send(.POST, "/admin/role-bindings", body: CreateRoleBindingRequestWire(principal_type: "service_account", principal_id: id, binding: .organization(role)))
                }
                let path = "/admin/service-accounts/\(pathComponent(id))"
                let reply = if let name { try await client.send(.PATCH, path, body: NameRequestWire(name: name)) } else { try await client.send(.GET, path) }
                show(reply, json: options.json, columns: ServiceAccountCommand.columns, list: false)
            }
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-secret", abstract: "Replace the secret; the old one and its tokens stop working at once.")
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Service account id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                ServiceAccountCommand.printSecret(try await session.client().send(.POST, "/admin/service-accounts/\(pathComponent(id))/rotate-secret"), json: options.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        @Option(name: [.customShort("i"), .long], help: "Service account id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.DELETE, "/admin/service-accounts/\(pathComponent(id))")
                print("Deleted service account \(id).")
            }
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a service account a role in a project.")
        @Option(name: [.customShort("i"), .long], help: "Service account id.") var id: String
        @Option(name: .customLong("project"), help: "Project id or name (default: the target).") var project: String?
        @Option(help: "ProjectOwner, ProjectManager or ProjectMember.") var role: String = "ProjectMember"
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                _ = try await session.client().send(
                    .POST, "/admin/role-bindings", body: CreateRoleBindingRequestWire(principal_type: "service_account", principal_id: id, binding: .project(projectID, role))
                )
                print("Connected \(id) to project \(projectID) as \(role).")
            }
        }
    }

    struct Disconnect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a service account's role in a project.")
        @Option(name: [.customShort("i"), .long], help: "Service account id.") var id: String
        @Option(name: .customLong("project"), help: "Project id or name (default: the target).") var project: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                let client = try await session.client()
                let reply = try await client.send(.GET, "/admin/role-bindings?principal_type=service_account&principal_id=\(pathComponent(id))&resource_type=project&resource_id=\(projectID)")
                let bindings = (reply.body as? [String: Any])?["data"] as? [[String: Any]] ?? []
                guard let binding = bindings.first?["id"] as? String else { throw ClientError("\(id) has no role in project \(projectID).") }
                _ = try await client.send(.DELETE, "/admin/role-bindings/\(binding)")
                print("Disconnected \(id) from project \(projectID).")
            }
        }
    }
}

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Invite users and manage the organization's members.",
        subcommands: [Invite.self, List.self, Update.self, Remove.self]
    )

    struct Invite: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(help: "Email address.") var email: String
        @Option(help: "Organization role.") var role: String = "OrgMember"
        @Option(name: .customLong("project"), help: "Also grant a role in this project (id or name).") var project: String?
        @Option(help: "The project role.") var projectRole: String = "ProjectMember"
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                var bindings: [RoleBindingInputWire] = [.organization(role)]
                if let project {
                    bindings.append(.project(try await resolveProject(project, session: &session), projectRole))
                }
                let reply = try await session.client().send(.POST, "/admin/invites", body: CreateInviteRequestWire(email: email, role_bindings: bindings))
                if options.json { return printJSON(reply.raw) }
                let object = reply.body as? [String: Any] ?? [:]
                guard let token = object["token"] as? String else {
                    return print("Invited \(describe(object["email"])) (expires \(describe(object["expires_at"]))); the invitation was mailed.")
                }
                print("Invited \(describe(object["email"])) (expires \(describe(object["expires_at"]))). This server sends no mail: pass on this")
                print("one-time link, where the new member chooses a password in the console:")
                print("    \(session.url)/console/accept-invite?token=\(token)")
                print("(or POST /oauth/accept-invite {\"token\", \"password\"} with the token \(token))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let client = try await session.client()
                let users = try await client.send(.GET, "/admin/users")
                if options.json { return printJSON(users.raw) }
                let bindings = try await client.send(.GET, "/admin/role-bindings?principal_type=user&resource_type=organization")
                let roles = ((bindings.body as? [String: Any])?["data"] as? [[String: Any]] ?? [])
                    .reduce(into: [String: String]()) { $0[describe($1["principal_id"])] = describe($1["role"]) }
                let rows = ((users.body as? [String: Any])?["data"] as? [[String: Any]] ?? []).map { user in
                    [describe(user["id"]), describe(user["email"]), roles[describe(user["id"])] ?? "-"]
                }
                printTable(["ID", "EMAIL", "ROLE"], rows)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        @Option(name: [.customShort("i"), .long], help: "User id.") var id: String
        @Option(help: "New organization role.") var role: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.POST, "/admin/role-bindings", body: CreateRoleBindingRequestWire(principal_type: "user", principal_id: id, binding: .organization(role)))
                print("User \(id) is now \(role).")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        @Option(name: [.customShort("i"), .long], help: "User id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.DELETE, "/admin/users/\(pathComponent(id))")
                print("Removed user \(id) from the organization.")
            }
        }
    }
}

/// `conifer org plan set`: an operator command on the data directory itself (plans are not self-service).
struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Operator commands for organizations and their projects.", subcommands: [PlanCommand.self, RateLimitsCommand.self, SSOEnforcementCommand.self]
    )

    /// `conifer org rate-limits set|clear --project ID`: the operator's rate limits for one project, over its plan's.
    struct RateLimitsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rate-limits", abstract: "A project's rate limits (over its plan's and the server's).", subcommands: [Set.self, Clear.self]
        )

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set a project's rate limits in a data directory, e.g. query=50,upsert=20 or pinecone (takes effect at once, also on a running server)."
            )
            @Argument(help: "Limits in --rate-limits syntax.") var limits: String
            @OptionGroup var storage: DataDirectoryOptions
            @Option(help: "Project id.") var project: String

            func run() async throws {
                try await runReportingErrors {
                    do {
                        _ = try RateLimits.parse(limits)
                    } catch let error as ConiferError {
                        throw ClientError(error.message)
                    }
                    try await RateLimitsCommand.apply(limits, project: project, storage: storage)
                }
            }
        }

        struct Clear: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a project's own rate limits (its plan's and the server's apply).")
            @OptionGroup var storage: DataDirectoryOptions
            @Option(help: "Project id.") var project: String

            func run() async throws {
                try await runReportingErrors { try await RateLimitsCommand.apply(nil, project: project, storage: storage) }
            }
        }

        /// Stores the limits and records the change in the audit log (the operator as the system actor).
        static func apply(_ limits: String?, project: String, storage: DataDirectoryOptions) async throws {
            guard let id = UUID(uuidString: project) else { throw ClientError("--project must be a project id (a UUID).") }
            do {
                let catalog = try await storage.openCatalog()
                defer { catalog.close() }
                let service = catalog.catalogService()
                guard let changed = try await service.project(id) else { throw ClientError("Project \(id.lowercasedString) not found.") }
                // Recorded in the change's own transaction, with the operator as the system actor.
                let outcome = ActionOutcome(
                    actor: .system(.operatorCommand), action: "conifer org rate-limits", kind: .updateProject, resource: [:], result: .succeeded,
                    organizationID: changed.organizationID, userAgent: "conifer-cli",
                    details: ActionDetails(resourceID: .string(changed.name), parameters: ["rate_limits": limits.map(JSONValue.string) ?? .null])
                )
                _ = try await AuditRecorder(spool: catalog.audit, directory: catalog.audit).record(outcome) {
                    _ = try await service.setRateLimits(project: id, limits)
                    return true
                }
                print(limits.map { "Project \(changed.name) is now limited to \($0) (over its plan's limits)." } ?? "Project \(changed.name) has no rate limits of its own now.")
            } catch let error as ConiferError {
                throw ClientError(error.message)
            }
        }
    }

    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "plan", abstract: "Organization plans.", subcommands: [Set.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set an organization's plan (Starter, Standard or Enterprise) in a data directory.")
            @Argument(help: "Starter, Standard or Enterprise.") var plan: String
            @OptionGroup var storage: DataDirectoryOptions
            @Option(help: "Organization id (default: the first organization).") var organization: String?

            func run() async throws {
                try await runReportingErrors {
                    guard let parsed = Plan(rawValue: plan) else { throw ClientError("Unknown plan \(plan): use Starter, Standard or Enterprise.") }
                    var organizationID: UUID?
                    if let organization {
                        guard let id = UUID(uuidString: organization) else { throw ClientError("--organization must be a UUID.") }
                        organizationID = id
                    }
                    do {
                        let database = try await storage.openCatalog()
                        defer { database.close() }
                        let catalog = database.audit
                        let first = try await catalog.firstOrganization()
                        guard let organization = organizationID ?? first else {
                            throw ClientError("This data directory has no organization yet: start the server once.")
                        }
                        let name = try await catalog.auditNames(organization: organization, actor: .system(.operatorCommand)).organization
                        // Recorded in the change's own transaction, with the operator as the system actor.
                        let outcome = ActionOutcome(
                            actor: .system(.operatorCommand), action: "conifer org plan set", kind: .changePlan, resource: [:], result: .succeeded,
                            organizationID: organization, userAgent: "conifer-cli",
                            details: ActionDetails(resourceID: .string(name), parameters: ["plan": .string(parsed.rawValue)])
                        )
                        _ = try await AuditRecorder(spool: catalog, directory: catalog).record(outcome) {
                            _ = try await database.adminService().setPlan(parsed, organization: organization)
                            return true
                        }
                        print("Organization \(name) (\(organization.lowercasedString)) is now on the \(parsed.rawValue) plan.")
                    } catch let error as ConiferError {
                        throw ClientError(error.message)
                    }
                }
            }
        }
    }
}
