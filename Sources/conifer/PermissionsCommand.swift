import ArgumentParser
import ConiferServer
import Foundation

/// `conifer permissions`: prints the permission table, every route and what its caller needs.
struct PermissionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "permissions", abstract: "Print the permission table of every route.")

    func run() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-permissions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let server = try await ConiferApplication(configuration: ServerConfiguration(dataDirectory: scratch))
        print(server.permissionTable())
    }
}
