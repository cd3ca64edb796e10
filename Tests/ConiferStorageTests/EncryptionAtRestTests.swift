import ConiferCore
import ConiferIndex
import ConiferKeys
import Crypto
import Foundation
import Logging
import Testing
@testable import ConiferStorage

@Suite struct EncryptionAtRestTests {
    static let marker = "ZEBRA-7391-marker"
    static let vector: [Float] = [1.25e-3, 7.5e5, 3.0625]

    /// Every file under `root`, with its bytes.
    func files(under root: URL) -> [(path: String, bytes: [UInt8])] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        var found: [(String, [UInt8])] = []
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            found.append((url.path, [UInt8]((try? Data(contentsOf: url)) ?? Data())))
        }
        return found
    }

    /// Writes distinctive records into a store under `registry`, compacts half of them into a segment and
    /// leaves the rest in the log.
    func populate(_ registry: StoreRegistry, _ definition: IndexDefinition) async throws -> IndexStore {
        let store = try await registry.store(for: definition, pass: .dataEditor)
        let vectorBytes = Self.vector.withUnsafeBytes { Array($0) }
        #expect(vectorBytes.count == 12)
        _ = try await store.write(.upsert(namespace: "ns-\(Self.marker)", records: [record("id-\(Self.marker)-1", Self.vector, ["note": .string(Self.marker)])]))
        try await store.compact()
        _ = try await store.write(.upsert(namespace: "ns-\(Self.marker)", records: [record("id-\(Self.marker)-2", Self.vector, ["note": .string(Self.marker)])]))
        return store
    }

    func definition(_ project: UUID = UUID()) -> IndexDefinition {
        IndexDefinition(projectID: project, name: "enc", vectorType: .dense, dimension: 3, metric: .euclidean)
    }

    @Test func noIdMetadataNamespaceOrVectorBytesAppearInAnyFile() async throws {
        let root = TemporaryDirectory()
        let registry = StoreRegistry(root: root.url, keys: LocalIndexKeys(master: .generate()), policy: .never, logger: Logger(label: "test"))
        let definition = definition()
        let store = try await populate(registry, definition)
        #expect(try store.snapshot().totalRecordCount == 2)
        let found = files(under: root.url)
        #expect(found.contains { $0.path.hasSuffix("/manifest") } && found.contains { $0.path.hasSuffix(".seg") } && found.contains { $0.path.hasSuffix(".log") })
        let patterns = [Array(Self.marker.utf8), Self.vector.withUnsafeBytes { Array($0) }, Array(Self.vector[1...].withUnsafeBytes { Array($0) })]
        for (path, bytes) in found {
            for pattern in patterns {
                let hit = bytes.count >= pattern.count && (0...(bytes.count - pattern.count)).contains { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
                #expect(!hit, "\(path) holds a plaintext pattern")
            }
        }
    }

    @Test(arguments: ["wal", "segments", "manifest", "key"])
    func alteringAnyFileKindMakesTheIndexRefuseService(kind: String) async throws {
        let root = TemporaryDirectory()
        let master = MasterKey.generate()
        let definition = definition()
        do {
            let registry = StoreRegistry(root: root.url, keys: LocalIndexKeys(master: master), policy: .never, logger: Logger(label: "test"))
            _ = try await populate(registry, definition)
        }
        let directory = root.url.appendingPathComponent(definition.id.uuidString.lowercased())
        let target = kind == "manifest" || kind == "key"
            ? directory.appendingPathComponent(kind)
            : directory.appendingPathComponent(kind).appendingPathComponent(root.files("\(definition.id.uuidString.lowercased())/\(kind)")[0])
        var bytes = try DurableFile.read(target)
        // Inside the key file's base64, or anywhere past the sealed file's magic.
        let position = kind == "key" ? (String(decoding: bytes, as: UTF8.self).range(of: "\"wrapped\":\"")!.upperBound.utf16Offset(in: String(decoding: bytes, as: UTF8.self)) + 10) : bytes.count / 2
        bytes[position] = bytes[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try DurableFile.write(bytes, to: target)
        let reopened = StoreRegistry(root: root.url, keys: LocalIndexKeys(master: master), policy: .never, logger: Logger(label: "test"))
        let error = await #expect(throws: ConiferError.self) { _ = try await reopened.store(for: definition, pass: .dataEditor) }
        #expect(error?.code == .unavailable)
    }

    @Test func anotherMasterKeyOrAnotherProjectCannotOpenTheIndex() async throws {
        let root = TemporaryDirectory()
        let definition = definition()
        _ = try await populate(StoreRegistry(root: root.url, keys: LocalIndexKeys(master: .generate()), policy: .never, logger: Logger(label: "test")), definition)
        let other = StoreRegistry(root: root.url, keys: LocalIndexKeys(master: .generate()), policy: .never, logger: Logger(label: "test"))
        await #expect(throws: (any Error).self) { _ = try await other.store(for: definition, pass: .dataEditor) }
        var moved = definition
        moved.projectID = UUID()
        await #expect(throws: (any Error).self) { _ = try await other.store(for: moved, pass: .dataEditor) }
    }

    @Test func aDroppedIndexLosesItsKeyAtOnceAndItsFilesAfterThePurgeWindow() async throws {
        let root = TemporaryDirectory()
        let keys = LocalIndexKeys(master: .generate())
        let registry = StoreRegistry(root: root.url, keys: keys, policy: .never, logger: Logger(label: "test"))
        let definition = definition()
        _ = try await populate(registry, definition)
        let name = definition.id.uuidString.lowercased()
        try await registry.drop(indexID: definition.id, pass: .system(.purge))
        // Gone from its place at once; what is left has no key, and is kept only until the window passes.
        #expect(root.files("") == ["deleted"])
        let retired = root.url.appendingPathComponent("deleted/\(name)")
        #expect(!FileManager.default.fileExists(atPath: IndexKeyFile.url(in: retired).path))
        #expect(root.files("deleted/\(name)/wal").count == 1 && root.files("deleted/\(name)/segments").count == 1)
        #expect(await registry.purgeDeleted(olderThan: .seconds(3600), pass: .system(.purge)) == [])
        #expect(await registry.purgeDeleted(olderThan: .seconds(0), pass: .dataEditor) == [])
        #expect(root.files("deleted") == [name])
        #expect(await registry.purgeDeleted(olderThan: .seconds(3600), now: Date().addingTimeInterval(3601), pass: .system(.purge)).map(\.id) == [definition.id])
        #expect(root.files("deleted") == [])
        // A new index gets a new directory and key; nothing of the old one is reused.
        _ = try await populate(registry, self.definition(definition.projectID))
    }

    @Test func filesWithoutTheirKeyAreRefusedNotTakenForANewIndex() async throws {
        let root = TemporaryDirectory()
        let definition = definition()
        _ = try await populate(StoreRegistry(root: root.url, keys: LocalIndexKeys(master: .generate()), policy: .never, logger: Logger(label: "test")), definition)
        try IndexKeyFile.shred(in: root.url.appendingPathComponent(definition.id.uuidString.lowercased()))
        let reopened = StoreRegistry(root: root.url, keys: LocalIndexKeys(master: .generate()), policy: .never, logger: Logger(label: "test"))
        await #expect(throws: ConiferError.self) { _ = try await reopened.store(for: definition, pass: .dataEditor) }
    }

    @Test func aWriteOlderThanThePurgeWindowIsFoldedSoDeletedRecordsLeaveTheDisk() async throws {
        let directory = TemporaryDirectory()
        let policy = { (window: Duration) in
            CompactionPolicy(maxLogFiles: .max, maxLogBytes: .max, graphCheckpoint: .max, reclaimSlots: .max, purgeAfter: window)
        }
        do {
            let store = try await openStore(directory, policy: policy(.seconds(3600)))
            _ = try await store.write(.upsert(namespace: "", records: [record("gone", [1, 2]), record("kept", [3, 4])]))
            try await store.compact()
            _ = try await store.write(.deleteIDs(namespace: "", ids: ["gone"]))
            // A delete alone does not compact before the window.
            #expect(await !store.needsCompaction)
        }
        let store = try await openStore(directory, policy: policy(.milliseconds(100)))
        try await Task.sleep(for: .milliseconds(150))
        #expect(await store.needsCompaction)
        try await store.compact()
        #expect(directory.files("wal") == [])
        let reopened = try await openStore(directory)
        #expect(try reopened.snapshot().snapshot("")?.ids(prefix: "") == ["kept"])
    }

    @Test func anIndexWrittenBeforeEncryptionIsSealedWithEverythingInIt() async throws {
        let root = TemporaryDirectory()
        let definition = definition()
        let directory = root.url.appendingPathComponent(definition.id.uuidString.lowercased())
        do {
            // What an earlier version wrote: plain files, a segment and log files after it.
            let store = try await IndexStore.open(indexID: definition.id, directory: directory, cipher: .plaintext, policy: .never, logger: Logger(label: "test"))
            _ = try await store.write(.upsert(namespace: "", records: [record("a", [1, 2, 3], ["note": .string(Self.marker)])]))
            try await store.compact()
            _ = try await store.write(.upsert(namespace: "", records: [record("b", [4, 5, 6])]))
            _ = try await store.write(.deleteIDs(namespace: "", ids: ["a"]))
            _ = try await store.write(.upsert(namespace: "", records: [record("c", [7, 8, 9], ["note": .string(Self.marker)])]))
        }
        let keys = LocalIndexKeys(master: .generate())
        #expect(try await StoreRegistry.sealUnsealedIndexes(root: root.url, definitions: [definition], keys: keys) == [definition.id])
        #expect(try await StoreRegistry.sealUnsealedIndexes(root: root.url, definitions: [definition], keys: keys) == [])
        #expect(root.files("").count == 1)
        let registry = StoreRegistry(root: root.url, keys: keys, policy: .never, logger: Logger(label: "test"))
        let store = try await registry.store(for: definition, pass: .dataEditor)
        #expect(try store.snapshot().snapshot("")?.ids(prefix: "") == ["b", "c"])
        let next = try await store.write(.upsert(namespace: "", records: [record("d", [1, 1, 1])]))
        #expect(next.matchedRecords == 1)
        #expect(root.files("\(definition.id.uuidString.lowercased())/wal") == [WriteLog.fileName(5)])
        for (path, bytes) in files(under: root.url) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains(Self.marker), "\(path)")
        }
    }
}
