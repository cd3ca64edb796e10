import ArgumentParser
import ConiferAccess
import ConiferCore
import ConiferServer
import Foundation

/// Where `conifer login` keeps its session: `$CONIFER_CONFIG_DIR` or `~/.config/conifer`, file mode 0600.
struct CLISession: Codable {
    var url: String
    var clientID: String?
    var clientSecret: String?
    var email: String?
    var accessToken: String
    var expiresAt: Date
    var targetProject: String?

    static var file: URL {
        let environment = ProcessInfo.processInfo.environment
        let directory = environment["CONIFER_CONFIG_DIR"].map(URL.init(fileURLWithPath:))
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/conifer")
        return directory.appendingPathComponent("session.json")
    }

    static func load() throws -> CLISession {
        guard let data = try? Data(contentsOf: file) else { throw ClientError("Not logged in: run `conifer login --client-id … --client-secret …` first.") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(CLISession.self, from: data)
    }

    func save() throws {
        try FileManager.default.createDirectory(at: Self.file.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard FileManager.default.createFile(atPath: Self.file.path, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("Could not write \(Self.file.path).")
        }
    }

    /// A client with a fresh token (re-minted from the stored client credentials when it is about to expire).
    mutating func client() async throws -> ServerClient {
        if expiresAt.timeIntervalSinceNow < 300, let clientID, let clientSecret {
            let (token, expires) = try await Self.mint(url: url, body: .clientCredentials(clientID, clientSecret))
            accessToken = token
            expiresAt = expires
            try save()
        }
        return ServerClient(baseURL: url, credential: .bearer(accessToken))
    }

    static func mint(url: String, body: TokenRequestWire) async throws -> (String, Date) {
        let reply: ServerClient.Reply
        do {
            reply = try await ServerClient(baseURL: url, credential: .none).send(.POST, "/oauth/token", body: body)
        } catch let error as ClientError {
            throw ClientError("Login failed: \(error.description)")
        }
        guard let object = reply.body as? [String: Any], let token = object["access_token"] as? String else {
            throw ClientError("The server sent no access token.")
        }
        let seconds = object["expires_in"] as? Int ?? 3600
        return (token, Date().addingTimeInterval(TimeInterval(seconds)))
    }
}

/// Options of every Admin API subcommand.
struct AdminOptions: ParsableArguments {
    @Flag(help: "Print the server's JSON instead of a table.") var json = false
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Get an Admin API token and keep it for later commands.")
    @Option(help: "Server URL (env CONIFER_URL).") var url: String?
    @Option(help: "Service account client id (env CONIFER_CLIENT_ID).") var clientId: String?
    @Option(help: "Service account client secret (env CONIFER_CLIENT_SECRET).") var clientSecret: String?
    @Option(help: "A user's email, for the password grant.") var email: String?
    @Option(help: "A user's password (env CONIFER_PASSWORD).") var password: String?
    @Flag(help: "Sign --email in through the organization's identity provider (SAML): a browser opens the sign-in, and a loopback port on this machine receives it.") var sso = false
    @Flag(help: "With --sso: print the sign-in URL instead of opening a browser.") var noBrowser = false

    func run() async throws {
        try await runReportingErrors {
            let environment = ProcessInfo.processInfo.environment
            let base = url ?? environment["CONIFER_URL"] ?? "http://localhost:5080"
            let clientID = clientId ?? environment["CONIFER_CLIENT_ID"]
            let secret = clientSecret ?? environment["CONIFER_CLIENT_SECRET"]
            let session: CLISession
            if sso {
                guard let email else { throw ClientError("Pass --email with --sso: its domain finds the organization's identity provider.") }
                let (token, expires) = try await Self.singleSignOn(url: base, email: email, openBrowser: !noBrowser)
                session = CLISession(url: base, email: email, accessToken: token, expiresAt: expires)
            } else if let email {
                guard let password = password ?? environment["CONIFER_PASSWORD"] else { throw ClientError("Pass --password or set CONIFER_PASSWORD.") }
                let (token, expires) = try await CLISession.mint(url: base, body: .password(email, password))
                session = CLISession(url: base, email: email, accessToken: token, expiresAt: expires)
            } else {
                guard let clientID, let secret else { throw ClientError("Pass --client-id and --client-secret (or --email and --password).") }
                let (token, expires) = try await CLISession.mint(url: base, body: .clientCredentials(clientID, secret))
                session = CLISession(url: base, clientID: clientID, clientSecret: secret, accessToken: token, expiresAt: expires)
            }
            try session.save()
            print("Logged in to \(base).")
        }
    }

    /// The SP-initiated sign-in in a browser, finished on a loopback port: the server's ACS sends the browser to
    /// `http://127.0.0.1:<port>/callback?code=…`, and the code is exchanged with the PKCE verifier (RFC 7636), which
    /// never leaves this process, so a code seen by anything else is worth nothing.
    static func singleSignOn(url base: String, email: String, openBrowser: Bool) async throws -> (String, Date) {
        let loopback = try LoopbackCallback()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let verifier = String((0..<64).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        var components = URLComponents(string: base + "/console/sso")
        components?.queryItems = [
            URLQueryItem(name: "email", value: email), URLQueryItem(name: "cli_port", value: String(loopback.port)),
            URLQueryItem(name: "code_challenge", value: SSOCallback.challenge(of: verifier)),
        ]
        guard let start = components?.string else { throw ClientError("Not a URL: \(base).") }
        // Flushed at once: a script reading the output waits for this line.
        try FileHandle.standardOutput.write(contentsOf: Data("Sign in through your identity provider in a browser: \(start)\n".utf8))
        if openBrowser {
            let browser = Process()
            browser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            browser.arguments = ["xdg-open", start]
            try? browser.run()
        }
        let code = try await Task.detached { try loopback.code(timeout: 300) }.value
        return try await CLISession.mint(url: base, body: .authorizationCode(code, verifier: verifier))
    }
}

struct TargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "target", abstract: "Choose the project later commands act on.")
    @Option(help: "Project id or name.") var project: String?
    @Flag(help: "Show the current target.") var show = false

    func run() async throws {
        try await runReportingErrors {
            var session = try CLISession.load()
            if let project {
                let id = try await resolveProject(project, session: &session)
                session.targetProject = id
                try session.save()
            }
            print("Project: \(session.targetProject ?? "(none)")")
        }
    }
}

/// A project id from an id or a name.
func resolveProject(_ reference: String, session: inout CLISession) async throws -> String {
    if UUID(uuidString: reference) != nil { return reference.lowercased() }
    let reply = try await session.client().send(.GET, "/admin/projects")
    let projects = (reply.body as? [String: Any])?["data"] as? [[String: Any]] ?? []
    guard let match = projects.first(where: { $0["name"] as? String == reference }), let id = match["id"] as? String else {
        throw ClientError("No project named \(reference).")
    }
    return id
}

func projectOrTarget(_ project: String?, session: inout CLISession) async throws -> String {
    if let project { return try await resolveProject(project, session: &session) }
    guard let target = session.targetProject else { throw ClientError("Pass --project or run `conifer target --project …`.") }
    return target
}

/// Prints a reply as JSON, or as a table of the listed fields.
func show(_ reply: ServerClient.Reply, json: Bool, columns: [String], list: Bool) {
    if json { return printJSON(reply.raw) }
    let object = reply.body as? [String: Any] ?? [:]
    let rows = list ? (object["data"] as? [[String: Any]] ?? []) : [object]
    printTable(columns.map { $0.uppercased() }, rows.map { row in columns.map { describe(row[$0]) } })
}

func describe(_ value: Any?) -> String {
    switch value {
    case let text as String: text
    // JSON's true and false arrive as NSNumbers of type `c`.
    case let number as NSNumber: String(cString: number.objCType) == "c" ? String(number.boolValue) : number.stringValue
    case let list as [Any]: list.map { describe($0) }.joined(separator: ",")
    case let map as [String: Any]: map.isEmpty ? "-" : map.sorted { $0.key < $1.key }.map { "\($0.key)=\(describe($0.value))" }.joined(separator: ",")
    case nil: "-"
    default: "\(value!)"
    }
}

struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Manage projects.", subcommands: [Create.self, List.self, Describe.self, Update.self, Delete.self]
    )
    static let columns = ["id", "name", "max_pods", "force_encryption_with_cmek", "private_endpoint_access_only", "tags"]

    /// `--tag key=value` options as a tag map (`key=` removes the tag on update).
    static func tags(_ options: [String]) throws -> [String: String]? {
        guard !options.isEmpty else { return nil }
        var tags: [String: String] = [:]
        for option in options {
            guard let equals = option.firstIndex(of: "=") else { throw ValidationError("A tag is key=value, got \(option).") }
            tags[String(option[..<equals])] = String(option[option.index(after: equals)...])
        }
        return tags
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: .shortAndLong, help: "Project name.") var name: String
        @Option(help: "Maximum pods.") var maxPods: Int = 0
        @Flag(help: "Require customer-managed encryption keys.") var forceEncryption = false
        @Option(name: .customLong("tag"), help: "A tag, key=value (repeatable).") var tags: [String] = []
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let body = CreateProjectRequestWire(name: name, max_pods: maxPods, force_encryption_with_cmek: forceEncryption, tags: try ProjectCommand.tags(tags))
                let reply = try await session.client().send(.POST, "/admin/projects", body: body)
                show(reply, json: options.json, columns: ProjectCommand.columns, list: false)
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                show(try await session.client().send(.GET, "/admin/projects"), json: options.json, columns: ProjectCommand.columns, list: true)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Project id or name.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let project = try await resolveProject(id, session: &session)
                show(try await session.client().send(.GET, "/admin/projects/\(project)"), json: options.json, columns: ProjectCommand.columns, list: false)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Project id or name.") var id: String
        @Option(name: .shortAndLong, help: "New name.") var name: String?
        @Option(help: "Maximum pods.") var maxPods: Int?
        @Flag(inversion: .prefixedNo, help: "Serve the project's data plane only through its private endpoints (or again publicly too).")
        var privateOnly: Bool?
        @Option(name: .customLong("tag"), help: "A tag to set, key=value, or to remove, key= (repeatable).") var tags: [String] = []
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let project = try await resolveProject(id, session: &session)
                let body = UpdateProjectRequestWire(name: name, max_pods: maxPods, private_endpoint_access_only: privateOnly, tags: try ProjectCommand.tags(tags))
                show(try await session.client().send(.PATCH, "/admin/projects/\(project)", body: body), json: options.json, columns: ProjectCommand.columns, list: false)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        @Option(name: [.customShort("i"), .long], help: "Project id or name.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let project = try await resolveProject(id, session: &session)
                _ = try await session.client().send(.DELETE, "/admin/projects/\(project)")
                print("Deleted project \(project).")
            }
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key", abstract: "Manage a project's API keys.", subcommands: [Create.self, List.self, Describe.self, Update.self, Delete.self]
    )
    static let columns = ["id", "name", "project_id", "roles"]

    struct Create: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: .shortAndLong, help: "Key name.") var name: String
        @Option(name: [.customShort("i"), .customLong("project")], help: "Project id or name (default: the target).") var project: String?
        @Option(help: "Comma-separated roles (default ProjectEditor).") var roles: String = "ProjectEditor"
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                let reply = try await session.client().send(
                    .POST, "/admin/projects/\(projectID)/api-keys", body: APIKeyRequestWire(name: name, roles: roles.split(separator: ",").map(String.init))
                )
                if options.json { return printJSON(reply.raw) }
                let object = reply.body as? [String: Any] ?? [:]
                let key = object["key"] as? [String: Any] ?? [:]
                print("Created API key \(describe(key["id"])) with roles \(describe(key["roles"])). Its value, shown only this once:")
                print("    \(describe(object["value"]))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .customLong("project")], help: "Project id or name (default: the target).") var project: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                show(try await session.client().send(.GET, "/admin/projects/\(projectID)/api-keys"), json: options.json, columns: APIKeyCommand.columns, list: true)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Key id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                show(try await session.client().send(.GET, "/admin/api-keys/\(pathComponent(id))"), json: options.json, columns: APIKeyCommand.columns, list: false)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .long], help: "Key id.") var id: String
        @Option(name: .shortAndLong, help: "New name.") var name: String?
        @Option(name: .shortAndLong, help: "Comma-separated roles (replace the set).") var roles: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let body = APIKeyRequestWire(name: name, roles: roles.map { $0.split(separator: ",").map(String.init) })
                show(try await session.client().send(.PATCH, "/admin/api-keys/\(pathComponent(id))", body: body), json: options.json, columns: APIKeyCommand.columns, list: false)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        @Option(name: [.customShort("i"), .long], help: "Key id.") var id: String
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                _ = try await session.client().send(.DELETE, "/admin/api-keys/\(pathComponent(id))")
                print("Deleted API key \(id).")
            }
        }
    }
}

struct PrivateEndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "private-endpoint", abstract: "Manage a project's private endpoints (networks allowed on the private listener).",
        subcommands: [Create.self, List.self, Delete.self]
    )
    static let columns = ["id", "name", "region", "vpc_endpoint_id", "allowed_cidrs"]

    struct Create: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: .shortAndLong, help: "Endpoint name.") var name: String
        @Option(help: "Region of the indexes it reaches (a serverless index's region, a pod index's environment).") var region: String
        @Option(help: "An AWS VPC endpoint id (vpce-…), read from the PROXY protocol header of an NLB endpoint service.") var vpcEndpointId: String?
        @Option(help: "An address block allowed (repeatable), e.g. 10.1.0.0/16.") var cidr: [String] = []
        @Option(name: [.customShort("i"), .customLong("project")], help: "Project id or name (default: the target).") var project: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                let body = CreatePrivateEndpointRequestWire(name: name, region: region, vpc_endpoint_id: vpcEndpointId, allowed_cidrs: cidr.isEmpty ? nil : cidr)
                let reply = try await session.client().send(.POST, "/admin/projects/\(projectID)/private-endpoints", body: body)
                show(reply, json: options.json, columns: PrivateEndpointCommand.columns, list: false)
            }
        }
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var options: AdminOptions
        @Option(name: [.customShort("i"), .customLong("project")], help: "Project id or name (default: the target).") var project: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                let reply = try await session.client().send(.GET, "/admin/projects/\(projectID)/private-endpoints")
                show(reply, json: options.json, columns: PrivateEndpointCommand.columns, list: true)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        @Option(name: .long, help: "Endpoint id.") var id: String
        @Option(name: [.customShort("i"), .customLong("project")], help: "Project id or name (default: the target).") var project: String?
        func run() async throws {
            try await runReportingErrors {
                var session = try CLISession.load()
                let projectID = try await projectOrTarget(project, session: &session)
                _ = try await session.client().send(.DELETE, "/admin/projects/\(projectID)/private-endpoints/\(pathComponent(id))")
                print("Deleted private endpoint \(id).")
            }
        }
    }
}
