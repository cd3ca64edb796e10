import Foundation
import Testing

/// `docs/ARCHITECTURE.md` is the map of the modules: its import table must allow every `import` under `Sources/`,
/// list every module there, and list nothing else.
@Suite struct ArchitectureMapTests {
    /// The platform's modules, which any module may import.
    static let platform: Set<String> = ["Foundation", "Glibc", "Darwin", "Dispatch", "Synchronization"]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The table between `<!-- imports -->` and `<!-- /imports -->`: module → what it may import.
    static func table() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        guard let start = text.range(of: "<!-- imports -->"), let end = text.range(of: "<!-- /imports -->") else { return [:] }
        var table: [String: Set<String>] = [:]
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, !cells[1].isEmpty, cells[1] != "module", !cells[1].hasPrefix("---") else { continue }
            table[cells[1]] = Set(cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        return table
    }

    /// Every module under `Sources/` and the modules its Swift files import.
    static func imports() throws -> [String: Set<String>] {
        let sources = root.appendingPathComponent("Sources")
        var found: [String: Set<String>] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) where !module.hasPrefix(".") {
            var imported: Set<String> = []
            let files = FileManager.default.enumerator(at: sources.appendingPathComponent(module), includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
            for file in files where file.pathExtension == "swift" {
                for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                    let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                    if words.count >= 2, words[0] == "import" { imported.insert(String(words[1])) }
                }
            }
            found[module] = imported
        }
        return found
    }

    @Test func everyImportIsOneTheMapAllows() throws {
        let table = try Self.table()
        let imports = try Self.imports()
        #expect(!table.isEmpty, "docs/ARCHITECTURE.md has no import table")
        #expect(Set(table.keys) == Set(imports.keys), "the map's modules and Sources/ differ")
        for (module, imported) in imports.sorted(by: { $0.key < $1.key }) {
            let allowed = (table[module] ?? []).union(Self.platform)
            let disallowed = imported.subtracting(allowed).sorted()
            #expect(disallowed.isEmpty, "\(module) imports \(disallowed), which docs/ARCHITECTURE.md does not allow")
        }
    }

    /// The Swift files of the library modules (not the executables), by path under `Sources/`, with their lines.
    static func librarySources() throws -> [(path: String, lines: [Substring])] {
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
        return try files.filter { $0.pathExtension == "swift" && $0.path.contains("/Sources/Conifer") }.map { file in
            (String(file.path.dropFirst(sources.path.count + 1)), try String(contentsOf: file, encoding: .utf8).split(separator: "\n"))
        }
    }

    /// A principal, an identity and an admin pass are made only where credentials are checked; no initializer
    /// of theirs (or of a pass) is public, so no module outside this package can make one.
    @Test func onlyTheAccessCheckMintsPrincipalsIdentitiesAndPasses() throws {
        let minting = ["Principal(", "Principal.apiKey(", "Identity(kind:", ".admit()", "AuthorizationPass(holder:", "AdminPass(identity:"]
        let allowed: Set<String> = [
            "ConiferCore/Access.swift", "ConiferCore/AuthorizationPass.swift",  // the types and their decisions
            "ConiferAccess/CatalogService.swift",  // an API key's principal, once its hash matched
            "ConiferAccess/AdminService.swift", "ConiferAccess/AdminService+Members.swift",  // a token's identity, from its account's bindings
            "ConiferServer/Authenticator.swift", "ConiferServer/Middleware/AccessMiddleware.swift",  // the route's decision
        ]
        for (path, lines) in try Self.librarySources() where !allowed.contains(path) {
            for line in lines where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for call in minting where line.contains(call) {
                    Issue.record("\(path) mints with \(call): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        for (path, lines) in try Self.librarySources() where path.hasPrefix("ConiferCore/A") {
            for line in lines where line.contains("public init(") && (line.contains("kind: Kind") || line.contains("holder:") || line.contains("identity: Identity")) {
                Issue.record("\(path) has a public initializer of a principal, identity or pass: \(line)")
            }
        }
    }

    /// No module keeps mutable state for the whole process (each server, and each test's server, owns its own).
    /// Immutable values made once are not state; the AWS transport's `processClient` is one (see its comment).
    @Test func noModuleKeepsProcessWideMutableState() throws {
        let patterns = ["static let shared", "nonisolated(unsafe)", "static var", "= Mutex<", "= LockedBox("]
        for (path, lines) in try Self.librarySources() {
            for line in lines {
                let code = line.trimmingCharacters(in: .whitespaces)
                guard !code.hasPrefix("//"), let hit = patterns.first(where: { code.contains($0) }) else { continue }
                let isStatic = code.contains("static ") || hit == "nonisolated(unsafe)"
                // `static var x: T { … }` is a computed property, a `@TaskLocal` is the task's; instance members are
                // each object's own.
                if !isStatic || (hit == "static var" && (code.contains("{") || code.hasPrefix("@TaskLocal"))) { continue }
                Issue.record("\(path) keeps process-wide state: \(code)")
            }
        }
    }

    /// The SQLite catalog stores and loads rows; every rule (who reaches what, the plan's quotas and pods, the
    /// customer-managed-key policy, names that must be free, one enabled schedule per index, retention) is in the
    /// services over it, so a PostgreSQL catalog has none to copy.
    @Test func theCatalogStoresHoldNoRule() throws {
        let rules = [
            "AuthorizationPass", "AdminPass", "Principal(", "Principal.", "Identity(", "principal(requiring", ".require(", "quotaExceeded", "permissionDenied",
            "forbidden(", "failedPrecondition", "alreadyExists", "maxIndexesPerProject", "maxBackupsPerProject", "maxCollectionsPerProject",
            "maxPods", "allowsPods", "allowsMetrics", "forceEncryptionWithCMEK", "BackupSchedule.expiry", ".starter", ".standard", ".enterprise",
            "constantTimeEquals",
        ]
        let catalogFiles = try Self.librarySources().filter { ["ConiferAccess/SQLite", "ConiferAccess/Postgres/", "ConiferAccess/CatalogSQL"].contains(where: $0.path.hasPrefix) }
        #expect(catalogFiles.count >= 8)
        for (path, lines) in catalogFiles {
            for line in lines where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for rule in rules where line.contains(rule) {
                    Issue.record("\(path) decides with \(rule): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }
}
