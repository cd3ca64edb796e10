import ArgumentParser

@main
struct Conifer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conifer",
        abstract: "A self-hosted vector database that speaks Pinecone's API.",
        subcommands: [ServeCommand.self, IndexCommand.self, PermissionsCommand.self]
    )
}
