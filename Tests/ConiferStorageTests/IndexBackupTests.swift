import ConiferCore
import ConiferIndex
import ConiferKeys
import Foundation
import Synchronization
import Testing
@testable import ConiferStorage

/// Backups of an index as the storage layer takes and restores them: a point-in-time copy under concurrent
/// writes, every namespace (empty explicit ones too), and a damaged file refused before anything is written.
@Suite struct IndexBackupTests {
    /// What the writers and the backup task share.
    final class Race: Sendable {
        let acknowledgedBefore = Mutex<Set<String>>([])
        let begunAfter = Mutex<Set<String>>([])
        /// 0 before the backup, 1 while it is taken, 2 after, 3 to stop.
        let phase = Atomic<Int>(0)
    }

    static func vector(_ i: Int) -> [Float] { [Float(i), 1, Float(i % 7)] }

    /// Writers keep upserting while the backup is taken: the backup holds every write acknowledged before it
    /// began and none that began after it ended; restored into a new store it answers like the source did.
    @Test func aBackupIsOnePointOfTheWriteOrderWhileWritesGoOn() async throws {
        let source = TemporaryDirectory()
        let store = try await openStore(source)
        _ = try await store.write(.createNamespace("empty"))
        for i in 0..<200 { _ = try await store.write(.upsert(namespace: "seed", records: [record("s\(i)", Self.vector(i), ["i": .number(Double(i))])])) }

        // Each writer records, per id, whether its write was acknowledged before the backup began, or begun
        // after the backup ended.
        let race = Race()
        let backupURL = source.url.appendingPathComponent("backup")
        let cipher = source.cipher
        let summary = try await withThrowingTaskGroup(of: IndexBackup.Summary?.self) { group in
            for writer in 0..<3 {
                group.addTask { [race] in
                                var i = 0
                    while race.phase.load(ordering: .acquiring) < 3 {
                        let id = "w\(writer)-\(i)"
                        let startedAfter = race.phase.load(ordering: .acquiring) == 2
                        _ = try await store.write(.upsert(namespace: "live", records: [record(id, Self.vector(i))]))
                        if race.phase.load(ordering: .acquiring) == 0 { race.acknowledgedBefore.withLock { _ = $0.insert(id) } }
                        if startedAfter { race.begunAfter.withLock { _ = $0.insert(id) } }
                        i += 1
                        if race.phase.load(ordering: .acquiring) == 2, race.begunAfter.withLock({ $0.count }) > 30 { race.phase.store(3, ordering: .releasing) }
                    }
                    return nil
                }
            }
            group.addTask { [race] in
                while race.acknowledgedBefore.withLock({ $0.count }) < 60 { try await Task.sleep(for: .milliseconds(1)) }
                race.phase.store(1, ordering: .releasing)
                let summary = try IndexBackup.write(store, to: backupURL, cipher: cipher, pass: .dataEditor)
                race.phase.store(2, ordering: .releasing)
                return summary
            }
            var made: IndexBackup.Summary?
            for try await result in group { made = made ?? result }
            return try #require(made)
        }

        let namespaces = try IndexBackup.read(backupURL, cipher: source.cipher)
        let live = Set(namespaces.first { $0.name == "live" }?.records.map(\.id) ?? [])
        #expect(race.acknowledgedBefore.withLock { $0 }.isSubset(of: live), "every write acknowledged before the backup is in it")
        #expect(race.begunAfter.withLock { $0 }.isDisjoint(with: live), "no write begun after the backup is in it")
        #expect(Set(namespaces.map(\.name)) == ["empty", "seed", "live"])
        #expect(namespaces.first { $0.name == "empty" }.map { $0.explicit && $0.records.isEmpty } == true)
        #expect(summary.recordCount == 200 + live.count && summary.namespaceCount == 3 && summary.sizeBytes > 0)

        // Restored into a new store: the same records, answers and namespaces as the backup.
        let target = TemporaryDirectory()
        let restored = try await openStore(target)
        var reported: [Double] = []
        let verified = try IndexBackup.verify(backupURL, cipher: source.cipher)
        #expect(verified.recordCount == summary.recordCount && verified.namespaceCount == 3)
        try await IndexBackup.restore(verified, cipher: source.cipher, into: restored, pass: .dataEditor, batch: 64) { reported.append($0) }
        #expect(reported.last == 1 && reported == reported.sorted())
        let view = try restored.snapshot()
        #expect(Set(view.namespaceNames) == ["empty", "seed", "live"])
        #expect(view.snapshot("live")?.recordCount == live.count)
        #expect(view.record(namespace: "seed", id: "s17") == record("s17", Self.vector(17), ["i": .number(17)]))
        let query = SearchQuery(vector: [3, 1, 3], sparse: nil, topK: 5, filter: .everything, ef: 64)
        let answered = try #require(view.snapshot("seed")).search(query, metric: .cosine).map(\.id)
        let expected = try #require(try store.snapshot().snapshot("seed")).search(query, metric: .cosine).map(\.id)
        #expect(answered.count == 5)
        #expect(answered == expected)
    }

    /// A backup of several sealed chunks (records cut across chunk ends) restores every record as it was, a
    /// batch at a time; a byte flipped in its last chunk fails the verification, before anything is written.
    @Test func aBackupOfManyChunksStreamsIntoTheStore() async throws {
        let source = TemporaryDirectory()
        let store = try await openStore(source)
        let pad = String(repeating: "p", count: 1000)
        for start in stride(from: 0, to: 4200, by: 600) {
            let records = (start..<start + 600).map { record("r\($0)", Self.vector($0), ["i": .number(Double($0)), "pad": .string("\($0)\(pad)")]) }
            _ = try await store.write(.upsert(namespace: start < 2400 ? "a" : "b", records: records))
        }
        let url = source.url.appendingPathComponent("backup")
        let summary = try IndexBackup.write(store, to: url, cipher: source.cipher, pass: .dataEditor)
        #expect(summary.sizeBytes > 4 * SealedFile.defaultChunkSize, "several chunks")
        let verified = try IndexBackup.verify(url, cipher: source.cipher)
        #expect(verified.recordCount == 4200 && verified.namespaceCount == 2)

        let target = TemporaryDirectory()
        let restored = try await openStore(target)
        try await IndexBackup.restore(verified, cipher: source.cipher, into: restored, pass: .dataEditor, batch: 333)
        let view = try restored.snapshot()
        let original = try store.snapshot()
        #expect(view.snapshot("a")?.recordCount == 2400 && view.snapshot("b")?.recordCount == 1800)
        for i in [0, 1, 999, 2399, 2400, 3333, 4199] {
            let namespace = i < 2400 ? "a" : "b"
            let expected = try #require(original.record(namespace: namespace, id: "r\(i)"))
            #expect(view.record(namespace: namespace, id: "r\(i)") == expected, "r\(i)")
        }

        var damaged = try Data(contentsOf: url)
        damaged[damaged.count - 100] ^= 0x01
        try damaged.write(to: url)
        #expect(throws: StorageCorruption.self) { try IndexBackup.verify(url, cipher: source.cipher) }
    }

    /// A flipped byte, a cut file or a file sealed under another key is refused with a clear error.
    @Test func aDamagedBackupIsRefused() async throws {
        let source = TemporaryDirectory()
        let store = try await openStore(source)
        _ = try await store.write(.upsert(namespace: "", records: (0..<50).map { record("r\($0)", Self.vector($0)) }))
        let url = source.url.appendingPathComponent("backup")
        _ = try IndexBackup.write(store, to: url, cipher: source.cipher, pass: .dataEditor)
        let good = try Data(contentsOf: url)
        #expect(try IndexBackup.read(url, cipher: source.cipher).first?.records.count == 50)

        var flipped = good
        flipped[good.count / 2] ^= 0x01
        try flipped.write(to: url)
        #expect(throws: StorageCorruption.self) { try IndexBackup.read(url, cipher: source.cipher) }
        #expect(throws: StorageCorruption.self) { try IndexBackup.verify(url, cipher: source.cipher) }
        try good.prefix(good.count - 7).write(to: url)
        #expect(throws: StorageCorruption.self) { try IndexBackup.read(url, cipher: source.cipher) }
        try good.write(to: url)
        #expect(throws: StorageCorruption.self) { try IndexBackup.read(url, cipher: TemporaryDirectory().cipher) }
        let viewer = try Principal.apiKey(id: UUID(), roles: [.controlPlaneViewer], projectID: UUID(), organizationID: UUID()).authorize(.indexesRead)
        #expect(throws: ConiferError.self) { try IndexBackup.write(store, to: url, cipher: source.cipher, pass: viewer) }
    }
}
