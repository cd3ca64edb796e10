import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Testing
@testable import ConiferStorage

@Suite struct DeletedDataTests {
    @Test func deletingANamespaceAsksForCompactionThatRemovesItsRecordsFromDisk() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory, policy: CompactionPolicy(maxLogFiles: 1000))
        _ = try await store.write(.upsert(namespace: "secret", records: [record("a", [1, 2], ["note": .string("SENSITIVE-MARKER")])]))
        #expect(await store.needsCompaction == false)
        _ = try await store.write(.deleteNamespace("secret"))
        #expect(await store.needsCompaction)
        try await store.compact()
        #expect(await store.needsCompaction == false)
        for sub in ["wal", "segments"] {
            for name in directory.files(sub) {
                let bytes = try Data(contentsOf: directory.url.appendingPathComponent("\(sub)/\(name)"))
                #expect(bytes.range(of: Data("SENSITIVE-MARKER".utf8)) == nil, "\(sub)/\(name)")
            }
        }
    }
}
