import ArgumentParser
import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferServer
import Foundation

/// `conifer sso set|show|remove`: the organization's SAML single sign-on through the Admin API (owners; Standard
/// and Enterprise plans).
struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso", abstract: "The organization's SAML single sign-on (owners; Standard and Enterprise plans).",
        subcommands: [Set.self, Show.self, Remove.self]
    )

    static func path(_ session: inout CLISession) async throws -> String {
        "/admin/organizations/\(try await currentOrganization(&session))/sso"
    }

    /// Prints the settings as `name: value` lines: what to copy into the identity provider first.
    static func show(_ reply: ServerClient.Reply, json: Bool) {
        if json { return printJSON(reply.raw) }
        let object = reply.body as? [String: Any] ?? [:]
        let names = [
            "sp_entity_id", "acs_url", "metadata_url", "configured", "idp_entity_id", "sso_url", "certificate_fingerprint_sha256",
            "certificate_not_after", "domains", "enforced", "default_role", "default_project_roles", "updated_at",
        ]
        for name in names where object[name] != nil && !(object[name] is NSNull) {
            print("\(name): \(describe(object[name]))")
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trust an identity provider: its entity id, SSO URL and signing certificate, for the email domains given.",
            discussion: """
                Copy the SP entity id and ACS URL that `conifer sso show` prints into the identity provider first. With \
                --enforce, users of the domains can no longer sign in with a password; the break-glass path is the \
                operator's `conifer org sso-enforcement off` on the data directory.
                """
        )
        @OptionGroup var options: AdminOptions
        @Option(help: "The identity provider's entity id (issuer).") var idpEntityId: String
        @Option(help: "The identity provider's single sign-on URL (HTTP-Redirect binding).") var ssoUrl: String
        @Option(help: "A PEM file with the identity provider's signing certificate.") var certificate: String
        @Option(help: "Email domains that sign in through it, comma-separated (a.com,b.com).") var domains: String
        @Flag(help: "Refuse password sign-in for users of these domains.") var enforce = false
        @Option(help: "The organization role of users who first arrive through SSO (OrgMember, OrgManager, OrgBillingAdmin).") var defaultRole = "OrgMember"
        @Option(help: "A project role they also get, as PROJECT_ID=ROLE (repeat for more projects).") var defaultProjectRole: [String] = []

        func run() async throws {
            try await runReportingErrors {
                guard let pem = try? String(contentsOfFile: certificate, encoding: .utf8) else { throw ClientError("Cannot read \(certificate).") }
                var session = try CLISession.load()
                let body = SSOSettingsRequestWire(
                    idp_entity_id: idpEntityId, sso_url: ssoUrl, certificate: pem,
                    domains: domains.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, enforced: enforce, default_role: defaultRole,
                    default_project_roles: try defaultProjectRole.map { pair in
                        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                        guard parts.count == 2 else { throw ClientError("--default-project-role takes PROJECT_ID=ROLE, got '\(pair)'.") }
                        return SSOProjectRoleWire(project_id: parts[0], role: parts[1])
                    }
                )
                SSOCommand.show(try await session.client().send(.PUT, try await SSOCommand.path(&session), body: body), json: options.json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what to copy into the identity provider and what is configured.")
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                SSOCommand.show(try await session.client().send(.GET, try await SSOCommand.path(&session)), json: options.json)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop single sign-on (users sign in with passwords again).")
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.DELETE, try await SSOCommand.path(&session))
                if !options.json { print("Single sign-on removed.") }
            }
        }
    }
}

extension OrgCommand {
    /// `conifer org sso-enforcement off|on --organization ID`: the break-glass path when the identity provider is
    /// unreachable and SSO is enforced (an owner can then sign in with a password). On the data directory, audited.
    struct SSOEnforcementCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sso-enforcement", abstract: "Turn an organization's SSO enforcement off (break-glass) or on, in a data directory."
        )
        @Argument(help: "off or on.") var state: String
        @OptionGroup var storage: DataDirectoryOptions
        @Option(help: "Organization id (default: the first organization).") var organization: String?

        func run() async throws {
            try await runReportingErrors {
                guard ["on", "off"].contains(state) else { throw ClientError("Say on or off.") }
                do {
                    let database = try await storage.openCatalog()
                    defer { database.close() }
                    let catalog = database.audit
                    let first = try await catalog.firstOrganization()
                    guard let id = try organization.map({ value in
                        guard let id = UUID(uuidString: value) else { throw ClientError("--organization must be a UUID.") }
                        return id
                    }) ?? first else { throw ClientError("This data directory has no organization yet: start the server once.") }
                    let admin = database.adminService()
                    guard let current = try await admin.ssoSettings(organization: id) else {
                        throw ClientError("Organization \(id.lowercasedString) has no single sign-on.")
                    }
                    // Recorded in the change's own transaction, with the operator as the system actor.
                    let outcome = ActionOutcome(
                        actor: .system(.operatorCommand), action: "conifer org sso-enforcement", kind: .updateSSO, resource: [:], result: .succeeded,
                        organizationID: id, userAgent: "conifer-cli",
                        details: ActionDetails(resourceID: .string(current.idpEntityID), parameters: ["enforced": .bool(state == "on")])
                    )
                    _ = try await AuditRecorder(spool: catalog, directory: catalog).record(outcome) {
                        _ = try await admin.setSSOEnforced(state == "on", organization: id)
                        return true
                    }
                    print("Single sign-on enforcement is \(state) for organization \(id.lowercasedString).")
                } catch let error as ConiferError {
                    throw ClientError(error.message)
                }
            }
        }
    }
}
