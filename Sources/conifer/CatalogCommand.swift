import ArgumentParser
import ConiferAccess
import ConiferCore
import Foundation

/// `conifer catalog …`: operator commands on the catalog itself.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Operator commands on the catalog (run with the servers stopped).",
        subcommands: [Migrate.self]
    )

    /// `conifer catalog migrate --from sqlite:DIR --to postgres://… --home URL`: moves a data directory's organization
    /// to a PostgreSQL catalog that several servers can share (`CatalogMigration`).
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a data directory's SQLite catalog into a new, empty PostgreSQL catalog (run with the server stopped).",
            discussion: """
                Every row of every table is copied in one PostgreSQL transaction and counted on both sides before it \
                commits; the sealed columns are sealed again with the shared catalog's key (wrapped by the master key), \
                and the audit log is verified, then chained again under that key. The data directory keeps its index \
                files: afterwards serve it with --catalog and the origin given as --home (--advertise-url HOME, or \
                --port PORT for http://localhost:PORT). OAuth tokens issued before are not valid after; API keys, \
                passwords and service-account secrets are. The SQLite catalog is left as it was.
                """
        )

        @Option(help: ArgumentHelp("The data directory whose catalog to copy.", valueName: "sqlite:DIR")) var from: String
        @Option(help: ArgumentHelp("The PostgreSQL catalog to copy into, which must be empty (else CONIFER_CATALOG_URL).", valueName: "postgres://…"))
        var to: String?
        @Option(help: "The origin of the server that will serve the data directory's index files, as the server computes it: its --advertise-url, or http://localhost:PORT.")
        var home: String
        @Option(help: "File holding the master key, base64 or hex (without it: CONIFER_MASTER_KEY, else master.key in the data directory).")
        var masterKeyFile: String?

        func run() async throws {
            try await runReportingErrors {
                guard from.hasPrefix("sqlite:"), from.count > "sqlite:".count else {
                    throw ClientError("--from is sqlite:DIR, the data directory whose catalog to copy; got '\(from)'.")
                }
                guard let url = URL(string: home), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.path.isEmpty || url.path == "/" else {
                    throw ClientError("--home must be an origin such as http://localhost:5080 or https://conifer-1.example.com, got '\(home)'.")
                }
                let origin = home.hasSuffix("/") ? String(home.dropLast()) : home
                var arguments = ["--data-dir", String(from.dropFirst("sqlite:".count))]
                if let to { arguments += ["--catalog", to] }
                if let masterKeyFile { arguments += ["--master-key-file", masterKeyFile] }
                let storage = try DataDirectoryOptions.parse(arguments)
                guard let location = try storage.catalogLocation() else { throw ClientError("Give --to postgres://… (or CONIFER_CATALOG_URL).") }

                let lock = try storage.lock()
                defer { withExtendedLifetime(lock) {} }
                let source = try SQLiteCatalog(directory: storage.directory, sealingKey: try storage.keyring().serverKey)
                let target = try await storage.openCatalog()
                defer { target.close() }
                guard case .postgres(let postgres) = target else { throw ClientError("--to must be a PostgreSQL catalog.") }
                let tables: [CatalogMigration.Table]
                do {
                    tables = try await CatalogMigration.copy(from: source, to: postgres, home: origin)
                } catch let error as ConiferError {
                    throw ClientError(error.message)
                }
                if let broken = try await target.verifyAuditChain() {
                    throw ClientError("Copied, but the audit log does not verify in PostgreSQL: \(broken).")
                }
                let width = tables.map(\.name.count).max() ?? 0
                var lines = ["Copied the catalog of \(storage.dataDir) to \(location):"]
                lines += tables.filter { $0.rows > 0 }.map { "  \($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.rows)" }
                lines.append("\(tables.reduce(0) { $0 + $1.rows }) rows in \(tables.count) tables, counted on both sides; the audit log's chain verifies.")
                lines.append("Serve it with --catalog and the origin \(origin): conifer serve --data-dir \(storage.dataDir) --catalog URL --advertise-url \(origin) …")
                print(lines.joined(separator: "\n"))
            }
        }
    }
}
