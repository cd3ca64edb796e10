// conifer — the executable: argument parsing, `serve`, operator commands on a data directory (`repair`,
// `org plan set`) and the command-line client of the control plane and Admin API.

import ArgumentParser

@main
struct Conifer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conifer",
        abstract: "A self-hosted vector database that speaks Pinecone's API.",
        subcommands: [
            ServeCommand.self, IndexCommand.self, LoginCommand.self, TargetCommand.self, ProjectCommand.self, APIKeyCommand.self,
            ServiceAccountCommand.self, MemberCommand.self, OrgCommand.self, PermissionsCommand.self, RepairCommand.self,
        ]
    )
}
