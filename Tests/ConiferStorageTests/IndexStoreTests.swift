import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Testing
@testable import ConiferStorage

@Suite struct IndexStoreTests {
    @Test func acknowledgedWritesAreReadableAndSurviveReopen() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try await openStore(directory)
            _ = try await store.write(.upsert(namespace: "", records: [record("a", [1, 0]), record("b", [0, 1], ["k": .string("v")])]))
            #expect(try store.snapshot().record(namespace: "", id: "b")?.metadata == ["k": .string("v")])
            _ = try await store.write(.deleteIDs(namespace: "", ids: ["a", "missing"]))
            #expect(try store.snapshot().record(namespace: "", id: "a") == nil)
        }
        #expect(directory.files("wal").count == 2)
        let reopened = try await openStore(directory)
        let state = try reopened.snapshot()
        #expect(state.record(namespace: "", id: "a") == nil)
        #expect(state.record(namespace: "", id: "b") == record("b", [0, 1], ["k": .string("v")]))
    }

    @Test func updatesMergeMetadataAndMissingIdsAreNotFound() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        _ = try await store.write(.upsert(namespace: "n", records: [record("a", [1, 0], ["x": .number(1), "y": .string("keep")])]))
        _ = try await store.write(.updateByID(namespace: "n", id: "a", values: [0, 2], sparse: nil, setMetadata: ["x": .number(2), "z": .bool(true)]))
        #expect(try store.snapshot().record(namespace: "n", id: "a") == record("a", [0, 2], ["x": .number(2), "y": .string("keep"), "z": .bool(true)]))
        await #expect(throws: ConiferError.self) {
            try await store.write(.updateByID(namespace: "n", id: "nope", values: [1, 1], sparse: nil, setMetadata: nil))
        }
        await #expect(throws: ConiferError.self) {
            try await store.write(.updateByID(namespace: "other", id: "a", values: nil, sparse: nil, setMetadata: ["x": .number(1)]))
        }
    }

    @Test func filterWritesAndDryRun() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        let records = (0..<10).map { record("r\($0)", [1, Float($0)], ["even": .bool($0 % 2 == 0)]) }
        _ = try await store.write(.upsert(namespace: "", records: records))
        let even = MetadataFilter.field("even", .equal(.bool(true)))
        let dry = try await store.write(.updateByFilter(namespace: "", filter: even, setMetadata: ["tag": .string("x")], dryRun: true))
        #expect(dry.matchedRecords == 5)
        #expect(try store.snapshot().record(namespace: "", id: "r0")?.metadata["tag"] == nil)
        let real = try await store.write(.updateByFilter(namespace: "", filter: even, setMetadata: ["tag": .string("x")], dryRun: false))
        #expect(real.matchedRecords == 5)
        #expect(try store.snapshot().record(namespace: "", id: "r4")?.metadata["tag"] == .string("x"))
        let deleted = try await store.write(.deleteByFilter(namespace: "", filter: .field("tag", .exists(true))))
        #expect(deleted.matchedRecords == 5)
        #expect(try store.snapshot().snapshot("")?.ids(prefix: "") == ["r1", "r3", "r5", "r7", "r9"])
    }

    @Test func namespacesLifecycle() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        _ = try await store.write(.createNamespace("made"))
        await #expect(throws: ConiferError.self) { try await store.write(.createNamespace("made")) }
        await #expect(throws: ConiferError.self) { try await store.write(.deleteNamespace("never")) }
        _ = try await store.write(.upsert(namespace: "made", records: [record("a", [1, 1])]))
        _ = try await store.write(.deleteAll(namespace: "made"))
        let afterDeleteAll = try store.snapshot()
        #expect(afterDeleteAll.snapshot("made")?.recordCount == 0)
        _ = try await store.write(.upsert(namespace: "implicit", records: [record("a", [1, 1])]))
        _ = try await store.write(.deleteIDs(namespace: "implicit", ids: ["a"]))
        #expect(try store.snapshot().snapshot("implicit") == nil)
        _ = try await store.write(.deleteNamespace("made"))
        #expect(try store.snapshot().namespaceNames.isEmpty)
    }

    @Test func concurrentWritesAreGroupedAndAllApplied() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { _ = try await store.write(.upsert(namespace: "", records: [record("r\(i)", [1, Float(i)])])) }
            }
            try await group.waitForAll()
        }
        #expect(try store.snapshot().totalRecordCount == 200)
        let logFiles = directory.files("wal").count
        #expect(logFiles < 200, "expected group commit to merge writes, got \(logFiles) log files")
        let reopened = try await openStore(directory)
        #expect(try reopened.snapshot().totalRecordCount == 200)
    }

    /// Two writes queued while a large one is being made durable form the next group: one log file holds
    /// both, and the update resolves against the upsert in front of it (not yet committed when resolved).
    /// Which order the two reach the store in is the scheduler's choice, so each attempt checks the
    /// outcome its order implies, and attempts repeat until one shows the grouped case.
    @Test func writesQueuedBehindAFlushAreGroupedAndSeeEachOther() async throws {
        var groupedAttempts = 0
        for _ in 0..<20 where groupedAttempts == 0 {
            let directory = TemporaryDirectory()
            let store = try await openStore(directory)
            let large = (0..<2_000).map { record("bulk\($0)", [Float](repeating: 1, count: 256)) }
            async let blocker = store.write(.upsert(namespace: "", records: large))
            async let upsert = store.write(.upsert(namespace: "", records: [record("a", [1, 0])]))
            func tag() async -> Result<WriteResult, any Error> {
                do { return .success(try await store.write(.updateByID(namespace: "", id: "a", values: nil, sparse: nil, setMetadata: ["k": .string("v")]))) }
                catch { return .failure(error) }
            }
            async let update = tag()
            _ = try await (blocker, upsert)
            let updated = await update
            let stored = try store.snapshot().record(namespace: "", id: "a")
            // Per log file, the ids of the records it upserts.
            let files = try directory.files("wal").map { name in
                let sequence = UInt64(name.filter(\.isNumber))!
                return try WriteLog(directory: directory.url.appendingPathComponent("wal"), cipher: directory.cipher).read(sequence).operations.flatMap { operation -> [String] in
                    if case .upsert(_, let records) = operation { records.map(\.id) } else { [] }
                }
            }
            switch updated {
            case .success:
                #expect(stored?.metadata == ["k": .string("v")])
                if files.contains(["a", "a"]) { groupedAttempts += 1 }
            case .failure(let error):
                // The update was resolved before the upsert existed: 404, and nothing of it stored.
                #expect((error as? ConiferError)?.code == .notFound)
                #expect(stored?.metadata == [:])
            }
        }
        #expect(groupedAttempts == 1, "no attempt grouped the upsert and the update into one log file")
    }

    @Test func aTemporaryFileIsTheOnlyTornWriteAndRecoveryDropsIt() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try await openStore(directory)
            for i in 0..<3 { _ = try await store.write(.upsert(namespace: "", records: [record("r\(i)", [1, Float(i)])])) }
        }
        // A crash before the rename leaves only a temporary file: nothing in it was acknowledged.
        let torn = WriteLog.encode(sequence: 4, operations: [.upsert(namespace: "", records: [record("torn", [1, 1])])])
        try Data(torn.prefix(torn.count - 5)).write(to: directory.url.appendingPathComponent("wal/tmp-123"))
        let reopened = try await openStore(directory)
        let state = try reopened.snapshot()
        #expect(state.totalRecordCount == 3)
        #expect(state.record(namespace: "", id: "torn") == nil)
        #expect(directory.files("wal") == [WriteLog.fileName(1), WriteLog.fileName(2), WriteLog.fileName(3)])
        _ = try await reopened.write(.upsert(namespace: "", records: [record("after", [2, 2])]))
        #expect(directory.files("wal").last == WriteLog.fileName(4))
        #expect(try await openStore(directory).snapshot().totalRecordCount == 4)
    }

    /// Writes five log files and flips one byte in the given one.
    func damagedStore(flipping sequence: UInt64) async throws -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        for i in 0..<5 { _ = try await store.write(.upsert(namespace: "", records: [record("r\(i)", [1, Float(i)])])) }
        let url = directory.url.appendingPathComponent("wal/" + WriteLog.fileName(sequence))
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: url)
        return directory
    }

    @Test(arguments: [UInt64(2), 5])
    func aRenamedFileThatFailsItsChecksumIsCorruptionAndTheIndexRefusesToOpen(sequence: UInt64) async throws {
        let directory = try await damagedStore(flipping: sequence)
        await #expect(throws: IndexCorruption.self) { _ = try await openStore(directory) }
        // Nothing was moved or rewritten: refusing leaves the evidence in place.
        #expect(directory.files("wal") == (1...5).map { WriteLog.fileName($0) })
        // A missing file before the last is corruption too (a missing last file is one never written).
        if sequence < 5 {
            try FileManager.default.removeItem(at: directory.url.appendingPathComponent("wal/" + WriteLog.fileName(sequence)))
            await #expect(throws: IndexCorruption.self) { _ = try await openStore(directory) }
        }
    }

    @Test func repairKeepsTheIntactPrefixMovesTheRestAsideAndNeverReusesASequence() async throws {
        let directory = try await damagedStore(flipping: 2)
        let report = try IndexRepair.run(directory: directory.url, cipher: directory.cipher)
        #expect(report.damagedFile == "wal/" + WriteLog.fileName(2))
        #expect(report.movedFiles == (2...5).map { "wal/" + WriteLog.fileName($0) })
        #expect(report.keptRecords == 1)
        #expect(report.nextSequence == 6)
        let aside = directory.files("").filter { $0.hasPrefix("damaged-") }
        #expect(aside.count == 1)
        #expect(directory.files(aside[0]).count == 4)
        let repaired = try await openStore(directory)
        #expect(try repaired.snapshot().snapshot("")?.ids(prefix: "") == ["r0"])
        _ = try await repaired.write(.upsert(namespace: "", records: [record("after", [2, 2])]))
        #expect(directory.files("wal") == [WriteLog.fileName(6)])
        #expect(try await openStore(directory).snapshot().snapshot("")?.ids(prefix: "") == ["after", "r0"])
        // Repairing an intact index changes nothing.
        #expect(try IndexRepair.run(directory: directory.url, cipher: directory.cipher).damagedFile == nil)
    }

    @Test func compactionPreservesStateAndRemovesFoldedLogs() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        for i in 0..<20 {
            _ = try await store.write(.upsert(namespace: i % 2 == 0 ? "even" : "odd", records: [record("r\(i)", [1, Float(i)], ["i": .number(Double(i))])]))
        }
        _ = try await store.write(.createNamespace("empty"))
        _ = try await store.write(.deleteIDs(namespace: "even", ids: ["r0"]))
        let before = try store.snapshot()
        let query = SearchQuery(vector: [0.5, 1], sparse: nil, topK: 5, filter: .field("i", .greaterThan(3)))
        let resultsBefore = ExactSearch.search(before.snapshot("odd"), query: query, metric: .cosine)
        try await store.compact()
        #expect(directory.files("wal").isEmpty)
        #expect(directory.files("segments") == [SegmentFile.fileName(22)])
        _ = try await store.write(.upsert(namespace: "odd", records: [record("late", [9, 9])]))
        try await store.compact()
        #expect(directory.files("segments") == [SegmentFile.fileName(23)])
        _ = try await store.write(.upsert(namespace: "odd", records: [record("later", [1, 9])]))

        let reopened = try await openStore(directory)
        let after = try reopened.snapshot()
        #expect(after.namespaceNames.sorted() == ["empty", "even", "odd"])
        #expect(after.snapshot("odd")?.recordCount == 12)
        #expect(after.snapshot("even")?.recordCount == 9)
        // "late" and "later" carry no `i`, so the filter leaves the answer as it was before compaction.
        #expect(ExactSearch.search(after.snapshot("odd"), query: query, metric: .cosine) == resultsBefore)
    }

    @Test func closedStoreRefusesWork() async throws {
        let directory = TemporaryDirectory()
        let store = try await openStore(directory)
        await store.close()
        #expect(throws: ConiferError.self) { try store.snapshot() }
        await #expect(throws: ConiferError.self) { try await store.write(.createNamespace("x")) }
    }
}
