// conifer — the executable: argument parsing, `serve`, operator commands on a data directory (`repair`,
// `org plan set`, `admin rotate-master-key`) and the command-line client of the control plane and Admin API.

import ArgumentParser
import ConiferCore
import Foundation

@main
struct Conifer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conifer",
        abstract: "A self-hosted vector database that speaks Pinecone's API.",
        subcommands: [
            ServeCommand.self, IndexCommand.self, BackupCommand.self, RestoreJobCommand.self, LoginCommand.self, TargetCommand.self, ProjectCommand.self, APIKeyCommand.self, PrivateEndpointCommand.self,
            ServiceAccountCommand.self, MemberCommand.self, UsageCommand.self, SpendAlertCommand.self, MailCommand.self, SSOCommand.self, AuditCommand.self, OrgCommand.self, PermissionsCommand.self, RepairCommand.self,
            CatalogCommand.self, AdminCommand.self,
        ]
    )
}

/// Stops a command that runs the search engine on a CPU without the instructions it was compiled for.
func requireEngineCPU() throws {
    guard let reason = HostCPU.unsupportedReason else { return }
    FileHandle.standardError.write(Data("\(reason)\n".utf8))
    throw ExitCode(1)
}
