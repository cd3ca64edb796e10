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
}
