import ArgumentParser
import ConiferServer
import Foundation

/// `conifer index …`: the control plane for indexes from the command line.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "List, create, describe, configure and delete indexes on a running server.",
        subcommands: [List.self, Create.self, Describe.self, Configure.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the indexes of the key's project.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await runReportingErrors {
                let reply = try await options.client().send(.GET, "/indexes")
                if options.json { return printJSON(reply.raw) }
                let indexes = (reply.body as? [String: Any])?["indexes"] as? [[String: Any]] ?? []
                printTable(
                    ["NAME", "DIMENSION", "METRIC", "TYPE", "PROTECTION", "STATUS", "HOST"],
                    indexes.map(IndexCommand.row)
                )
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a serverless index.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Index name.") var name: String
        @Option(help: "Vector dimension (dense indexes).") var dimension: Int?
        @Option(help: "cosine, euclidean or dotproduct.") var metric: String?
        @Option(help: "dense or sparse.") var vectorType: String = "dense"
        @Option(help: "Cloud label kept with the index.") var cloud: String = "aws"
        @Option(help: "Region label kept with the index.") var region: String = "us-east-1"
        @Option(help: "enabled or disabled.") var deletionProtection: String = "disabled"
        @Option(name: .customLong("tag"), help: "A tag as key=value (repeatable).") var tags: [String] = []
        @Option(help: "float32, or int8: the graph walks int8 codes in memory and answers are rescored on the float vectors, kept on disk.")
        var vectorEncoding: String?

        func run() async throws {
            try await runReportingErrors {
                let body = LegacyCreateIndexRequest(
                    name: name, dimension: dimension, metric: metric, vector_type: vectorType, deletion_protection: deletionProtection,
                    tags: tags.isEmpty ? nil : try parseTags(tags), cloud: cloud, region: region, vectorEncoding: vectorEncoding
                )
                let reply = try await options.client().send(.POST, "/indexes", body: body)
                try printIndex(reply, json: options.json)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one index.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Index name.") var name: String

        func run() async throws {
            try await runReportingErrors {
                let reply = try await options.client().send(.GET, "/indexes/\(pathComponent(name))")
                try printIndex(reply, json: options.json)
            }
        }
    }

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change deletion protection or tags of an index.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Index name.") var name: String
        @Option(help: "enabled or disabled.") var deletionProtection: String?
        @Option(name: .customLong("tag"), help: "A tag as key=value; key= removes the tag (repeatable).") var tags: [String] = []

        func run() async throws {
            try await runReportingErrors {
                guard deletionProtection != nil || !tags.isEmpty else { throw ClientError("Nothing to change: pass --deletion-protection or --tag.") }
                let body = LegacyConfigureIndexRequest(deletion_protection: deletionProtection, tags: tags.isEmpty ? nil : try parseTags(tags))
                let reply = try await options.client().send(.PATCH, "/indexes/\(pathComponent(name))", body: body)
                try printIndex(reply, json: options.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an index and its data.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Index name.") var name: String

        func run() async throws {
            try await runReportingErrors {
                _ = try await options.client().send(.DELETE, "/indexes/\(pathComponent(name))")
                if options.json { return print("{}") }
                print("Deleted index \(name).")
            }
        }
    }

    static func row(_ index: [String: Any]) -> [String] {
        let status = index["status"] as? [String: Any]
        return [
            index["name"] as? String ?? "",
            (index["dimension"] as? Int).map(String.init) ?? "-",
            index["metric"] as? String ?? "",
            index["vector_type"] as? String ?? "",
            index["deletion_protection"] as? String ?? "",
            status?["state"] as? String ?? "",
            index["host"] as? String ?? "",
        ]
    }
}

/// Runs a client action; a failure becomes one line on stderr and exit status 1.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ClientError {
        FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

func parseTags(_ pairs: [String]) throws -> [String: String] {
    var tags: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "=") else { throw ClientError("Tags are key=value, got '\(pair)'.") }
        tags[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return tags
}

func pathComponent(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? text
}

func printJSON(_ data: Data) {
    print(String(decoding: data, as: UTF8.self))
}

func printIndex(_ reply: ServerClient.Reply, json: Bool) throws {
    if json { return printJSON(reply.raw) }
    guard let index = reply.body as? [String: Any] else { throw ClientError("The server sent no index model.") }
    let tags = (index["tags"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    let fields = IndexCommand.row(index)
    let labels = ["name", "dimension", "metric", "vector type", "deletion protection", "status", "host"]
    for (label, value) in zip(labels, fields) {
        print("\(label.padding(toLength: 20, withPad: " ", startingAt: 0)) \(value)")
    }
    print("\("tags".padding(toLength: 20, withPad: " ", startingAt: 0)) \(tags.isEmpty ? "-" : tags.joined(separator: ", "))")
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
