import ArgumentParser
import ConiferAccess
import ConiferAWS
import ConiferCore
import ConiferDatabase
import ConiferKeys
import ConiferServer
import ConiferStorage
import Foundation

/// `conifer repair`: an operator command, run with the server stopped, that accepts the loss of whatever
/// an index's damaged files held, so the index can serve again.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair an index whose files failed an integrity check (run with the server stopped).",
        discussion: """
            Keeps every write before the first damaged file, moves that file and every later log file into \
            damaged-<time>/ inside the index directory, and writes a new segment so the index serves again. \
            Writes in the moved files are lost to the index (the files stay for inspection). The server's log \
            names the index id when it refuses a damaged index.
            """
    )

    @OptionGroup var storage: DataDirectoryOptions
    @Option(help: "The id of the damaged index (from the server's log).") var index: String

    func run() async throws {
        try requireEngineCPU()
        try await runReportingErrors {
            guard let id = UUID(uuidString: index) else { throw ClientError("--index must be the index id (a UUID) the server's log names.") }
            let directory = storage.directory.appendingPathComponent("indexes").appendingPathComponent(id.uuidString.lowercased())
            let lock = try storage.lock()
            defer { withExtendedLifetime(lock) {} }
            // An index under a customer-managed key is unwrapped through KMS, with the server's AWS settings.
            let keyring = try storage.keyring()
            let catalog = try await storage.openCatalog()
            defer { catalog.close() }
            let keys = ProjectIndexKeys(
                local: LocalIndexKeys(master: keyring.master), catalog: catalog.catalogService(),
                sessions: AWSSessions(), cacheLifetime: .seconds(300), serverCredentialKeys: .all
            )
            let report: IndexRepair.Report
            do {
                report = try await IndexRepair.run(directory: directory, keys: keys)
            } catch let error as ConiferError {
                throw ClientError(error.message)
            } catch let unavailable as KeyUnavailable {
                throw ClientError(unavailable.error.message)
            }
            guard let damaged = report.damagedFile else {
                print("Index \(id.uuidString.lowercased()) is intact (\(report.keptRecords) records); nothing to repair.")
                return
            }
            print("""
                Index \(id.uuidString.lowercased()) repaired.
                  first damaged file: \(damaged) (\(report.reason ?? ""))
                  moved aside:        \(report.movedFiles.joined(separator: ", "))
                  records kept:       \(report.keptRecords)
                  next write gets sequence \(report.nextSequence)
                """)
        }
    }
}
