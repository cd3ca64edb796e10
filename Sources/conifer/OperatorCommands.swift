import ArgumentParser
import ConiferAccess
import ConiferCore
import ConiferKeys
import ConiferServer
import ConiferStorage
import Foundation

/// Where a data directory is and how to open its keys: for `serve` and the operator commands that work on
/// the directory itself (with the server stopped).
struct DataDirectoryOptions: ParsableArguments {
    @Option(help: "The data directory: catalog, index files, keys (serve creates it if missing).")
    var dataDir: String = "./conifer-data"

    @Option(help: "File holding the master key, base64 or hex (without it: CONIFER_MASTER_KEY, else master.key in the data directory, made on first start).")
    var masterKeyFile: String?

    @Option(help: ArgumentHelp(
        "Keep the catalog in PostgreSQL, shared by every server given the same URL and master key: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=require|verify-full&sslrootcert=FILE] (env CONIFER_CATALOG_URL keeps the password out of the process list). Default: SQLite in the data directory.",
        valueName: "url"
    ))
    var catalog: String?

    @Option(help: "Connections to the --catalog PostgreSQL server at most.")
    var catalogPoolSize: Int = 10

    var directory: URL { URL(fileURLWithPath: dataDir) }

    /// `--catalog`, else `CONIFER_CATALOG_URL`; nil for the data directory's SQLite catalog.
    func catalogLocation() throws -> PostgresLocation? {
        guard let url = catalog ?? ProcessInfo.processInfo.environment["CONIFER_CATALOG_URL"], !url.isEmpty else { return nil }
        guard catalogPoolSize >= 1 else { throw ValidationError("--catalog-pool-size must be at least 1.") }
        do {
            return try PostgresLocation(url: url)
        } catch let error as ConiferError {
            throw ValidationError("--catalog: \(error.message)")
        }
    }

    /// The catalog, for an operator command: PostgreSQL (opened with the master key alone) or the data directory's.
    func openCatalog() async throws -> CatalogDatabase {
        if let location = try catalogLocation() {
            do {
                return .postgres(try await PostgresCatalog.open(location, poolSize: 2, master: try masterKeySource.load(mayCreate: false)))
            } catch let error as ConiferError {
                throw ClientError(error.message)
            }
        }
        return .sqlite(try SQLiteCatalog(directory: directory, sealingKey: try keyring().serverKey))
    }

    var masterKeySource: MasterKeySource {
        .resolve(dataDirectory: directory, file: masterKeyFile, environment: ProcessInfo.processInfo.environment)
    }

    /// The data directory's lock, for a command that must not run beside a server on it.
    func lock() throws -> DataDirectoryLock {
        do {
            return try DataDirectoryLock(directory: directory)
        } catch {
            throw ClientError(error.message)
        }
    }

    /// The keyring, for an operator command on an existing data directory.
    func keyring() throws -> KeyRing {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("catalog.sqlite").path) else {
            throw ClientError("No Conifer catalog in \(dataDir).")
        }
        do {
            return try KeyRing.open(dataDirectory: directory, source: masterKeySource)
        } catch {
            throw ClientError(error.message)
        }
    }
}

/// `conifer admin …`: operator commands on a data directory, run with the server stopped.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands on a data directory (run with the server stopped).",
        subcommands: [RotateMasterKey.self]
    )

    struct RotateMasterKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-master-key",
            abstract: "Re-wrap every data key under a new master key (data files are not rewritten).",
            discussion: """
                The current key comes from --master-key-file, else CONIFER_MASTER_KEY, else master.key in the data directory. \
                The new key comes from --new-master-key-file; without it a new key is generated and, when the current \
                key is the data directory's master.key, written there in its place (otherwise the command refuses, \
                since the new key would have nowhere to go). Safe to interrupt: run it again with the same keys.
                """
        )
        @OptionGroup var storage: DataDirectoryOptions
        @Option(help: "File holding the new master key (base64 or hex).") var newMasterKeyFile: String?

        func run() async throws {
            try await runReportingErrors {
                let lock = try storage.lock()
                defer { withExtendedLifetime(lock) {} }
                let source = storage.masterKeySource
                let generatedFile = storage.directory.appendingPathComponent("master.key.next")
                let new: MasterKey
                if let newMasterKeyFile {
                    new = try loadKey(.file(URL(fileURLWithPath: newMasterKeyFile)))
                } else {
                    guard case .dataDirectory = source else {
                        throw ClientError("Give --new-master-key-file: the current key is not the data directory's master.key, so a generated key would have nowhere to go.")
                    }
                    // Made once and kept until the rotation finishes, so a second run uses the same key.
                    if !FileManager.default.fileExists(atPath: generatedFile.path) {
                        try MasterKeySource.write(.generate(), to: generatedFile)
                    }
                    new = try loadKey(.file(generatedFile))
                }
                let old = try loadKey(source)
                // A shared catalog's key first: every server on it needs the new key from its next start on.
                let shared = try storage.catalogLocation()
                var catalogRewrapped = false
                if let catalog = shared {
                    do { catalogRewrapped = try await PostgresCatalog.rewrapKey(catalog, from: old, to: new) } catch let error as ConiferError { throw ClientError(error.message) }
                }
                let root = storage.directory.appendingPathComponent("indexes")
                var rewrapped = 0
                let result = try KeyRing.rotate(dataDirectory: storage.directory, from: old, to: new) { old, new in
                    rewrapped = try LocalIndexKeys.rewrapAll(root: root, from: old, to: new)
                }
                if case .dataDirectory(let url) = source, newMasterKeyFile == nil {
                    // One atomic step: master.key is the old key until here and the new one after.
                    guard rename(generatedFile.path, url.path) == 0 else { throw ClientError("Could not move the new key into \(url.path).") }
                    try DurableFile.syncDirectory(storage.directory)
                }
                guard result.finished || catalogRewrapped else {
                    print("The data directory is already encrypted under master key \(new.id); nothing to do.")
                    return
                }
                var lines = [
                    "Master key rotated: \(old.id) -> \(new.id).",
                    "  index data keys re-wrapped: \(rewrapped)",
                    "  server key re-wrapped:      \(result.finished ? "yes" : "already")",
                ]
                if shared != nil { lines.append("  catalog key re-wrapped:     \(catalogRewrapped ? "yes" : "already")") }
                lines.append(
                    newMasterKeyFile == nil ? "The new key is in \(storage.directory.appendingPathComponent("master.key").path)." : "Start the server with the new key file."
                )
                print(lines.joined(separator: "\n"))
            }
        }

        private func loadKey(_ source: MasterKeySource) throws -> MasterKey {
            do { return try source.load(mayCreate: false) } catch { throw ClientError(error.message) }
        }
    }
}
