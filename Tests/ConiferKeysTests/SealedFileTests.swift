import ConiferCore
import Crypto
import Foundation
import Testing
@testable import ConiferKeys

@Suite struct SealedFileTests {
    let key = SymmetricKey(size: .bits256)

    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    /// Seals with a small chunk size, so that the chunk boundaries are exercised by short inputs.
    func sealed(_ plaintext: [UInt8], chunkSize: Int = 64, purpose: SealedFile.Purpose = .writeLog, pieces: Int = 1) -> [UInt8] {
        var output: [UInt8] = []
        var writer = SealedFile.Writer(key: key, purpose: purpose, chunkSize: chunkSize) { output.append(contentsOf: $0) }
        let step = max(1, plaintext.count / pieces)
        var start = 0
        while start < plaintext.count {
            try! writer.write(Array(plaintext[start..<min(plaintext.count, start + step)]))
            start += step
        }
        try! writer.finish()
        return output
    }

    @Test(arguments: [0, 1, 63, 64, 65, 128, 1000])
    func roundTripsAnyLengthInAnyPieces(length: Int) throws {
        let plaintext = bytes(length)
        for pieces in [1, 3, 7] {
            let file = sealed(plaintext, pieces: pieces)
            #expect(try SealedFile.open(file, key: key, purpose: .writeLog) == plaintext)
            // Header, then whole chunks with their tags: nothing of the plaintext shows.
            let chunks = max(1, (length + 63) / 64)
            #expect(file.count == SealedFile.headerLength + length + chunks * SealedFile.tagLength)
        }
    }

    @Test func sealingTwiceGivesDifferentBytes() {
        let plaintext = bytes(100)
        #expect(sealed(plaintext) != sealed(plaintext))
        #expect(!sealed(plaintext).indices.dropLast(8).contains { sealed(plaintext)[$0..<($0 + 8)].elementsEqual(plaintext[0..<8]) })
    }

    @Test func everyFlippedByteFailsToOpen() {
        let file = sealed(bytes(150))
        for position in file.indices {
            var damaged = file
            damaged[position] ^= 0x20
            #expect(throws: SealError.self, "byte \(position)") { try SealedFile.open(damaged, key: key, purpose: .writeLog) }
        }
    }

    @Test func everyTruncationAndAppendFailsToOpen() {
        // 128 bytes: exactly two full chunks, so cutting the last chunk off leaves a well-formed-looking file.
        let file = sealed(bytes(128))
        for length in 0..<file.count {
            #expect(throws: SealError.self, "length \(length)") { try SealedFile.open(Array(file.prefix(length)), key: key, purpose: .writeLog) }
        }
        #expect(throws: SealError.self) { try SealedFile.open(file + [0], key: key, purpose: .writeLog) }
    }

    @Test func reorderedOrRepeatedChunksFailToOpen() {
        let file = sealed(bytes(64 * 3))
        let header = Array(file[0..<SealedFile.headerLength])
        let chunk = { (n: Int) in Array(file[(SealedFile.headerLength + n * 80)..<(SealedFile.headerLength + (n + 1) * 80)]) }
        #expect(throws: SealError.self) { try SealedFile.open(header + chunk(1) + chunk(0) + chunk(2), key: key, purpose: .writeLog) }
        #expect(throws: SealError.self) { try SealedFile.open(header + chunk(0) + chunk(0) + chunk(2), key: key, purpose: .writeLog) }
        #expect(throws: SealError.self) { try SealedFile.open(header + chunk(0) + chunk(2), key: key, purpose: .writeLog) }
    }

    @Test func anotherKeyOrPurposeFailsToOpen() {
        let file = sealed(bytes(10))
        #expect(throws: SealError.self) { try SealedFile.open(file, key: SymmetricKey(size: .bits256), purpose: .writeLog) }
        #expect(throws: SealError.self) { try SealedFile.open(file, key: key, purpose: .segment) }
        // A header rewritten to claim the other purpose fails authentication.
        var relabelled = file
        relabelled[8] = SealedFile.Purpose.segment.rawValue
        #expect(throws: SealError.self) { try SealedFile.open(relabelled, key: key, purpose: .segment) }
    }

    @Test func readsFromAFileChunkByChunk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sealed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let plaintext = bytes(3 << 20)
        try DurableFile.write(SealedFile.seal(plaintext, key: key, purpose: .segment), to: url)
        #expect(try SealedFile.read(url, key: key, purpose: .segment) == plaintext)
        var damaged = try DurableFile.read(url)
        damaged[damaged.count - 40] ^= 1
        try DurableFile.write(damaged, to: url)
        #expect(throws: SealError.self) { try SealedFile.read(url, key: key, purpose: .segment) }
    }

    @Test func wrappedKeysAreBoundToTheirContext() throws {
        let kek = SymmetricKey(size: .bits256)
        let secret = SymmetricKey(size: .bits256)
        let wrapped = try KeyWrap.wrap(secret, under: kek, context: "index a")
        let unwrapped = try KeyWrap.unwrap(wrapped, under: kek, context: "index a")
        #expect(unwrapped.withUnsafeBytes { Array($0) } == secret.withUnsafeBytes { Array($0) })
        #expect(throws: SealError.self) { try KeyWrap.unwrap(wrapped, under: kek, context: "index b") }
        #expect(throws: SealError.self) { try KeyWrap.unwrap(wrapped, under: SymmetricKey(size: .bits256), context: "index a") }
    }
}

@Suite struct MasterKeyTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keyring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func parsesBase64AndHexAndRejectsOtherLengths() throws {
        let key = MasterKey.generate()
        let hex = key.key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        #expect(try MasterKey.parse(key.encoded + "\n").id == key.id)
        #expect(try MasterKey.parse(hex).id == key.id)
        #expect(throws: SealError.self) { try MasterKey.parse(Data(count: 16).base64EncodedString()) }
        #expect(throws: SealError.self) { try MasterKey.parse("not a key") }
        #expect(MasterKey.generate().id != key.id)
    }

    @Test func aGeneratedKeyFileIsOwnerOnly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = MasterKeySource.resolve(dataDirectory: directory, file: nil, environment: [:])
        let key = try source.load(mayCreate: true)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("master.key").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try source.load(mayCreate: true).id == key.id)
        // The flag wins over the environment, which wins over the data directory's file.
        #expect(MasterKeySource.resolve(dataDirectory: directory, file: "/x", environment: ["CONIFER_MASTER_KEY": key.encoded]) == .file(URL(fileURLWithPath: "/x")))
        #expect(MasterKeySource.resolve(dataDirectory: directory, file: nil, environment: ["CONIFER_MASTER_KEY": key.encoded]) == .environment(key.encoded))
    }

    @Test func theKeyringRefusesAnotherMasterKeyAndNamesTheExpectedOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let master = MasterKey.generate()
        let ring = try KeyRing.open(dataDirectory: directory, master: master)
        #expect(ring.created)
        let again = try KeyRing.open(dataDirectory: directory, master: master)
        #expect(!again.created)
        #expect(again.serverKey == ring.serverKey)
        let other = MasterKey.generate()
        let error = #expect(throws: ConiferError.self) { try KeyRing.open(dataDirectory: directory, master: other) }
        #expect(error?.message.contains("Wrong master key") == true)
        #expect(error?.message.contains(master.id) == true)
        // The keyring must not give its server key to a file altered in place.
        let url = directory.appendingPathComponent("keyring.json")
        var stored = try JSONDecoder().decode(KeyRing.Stored.self, from: Data(contentsOf: url))
        var wrapped = Array(Data(base64Encoded: stored.serverKey)!)
        wrapped[20] ^= 1
        stored.serverKey = Data(wrapped).base64EncodedString()
        try JSONEncoder.keys.encode(stored).write(to: url)
        #expect(throws: ConiferError.self) { try KeyRing.open(dataDirectory: directory, master: master) }
    }

    @Test func aRotationRewrapsTheServerKeyAndAnInterruptedOneBlocksTheStartUntilFinished() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = MasterKey.generate()
        let new = MasterKey.generate()
        let ring = try KeyRing.open(dataDirectory: directory, master: old)
        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) { try KeyRing.rotate(dataDirectory: directory, from: old, to: new) { _, _ in throw Interrupted() } }
        let blocked = #expect(throws: ConiferError.self) { try KeyRing.open(dataDirectory: directory, master: old) }
        #expect(blocked?.message.contains("interrupted") == true)
        var calls = 0
        let result = try KeyRing.rotate(dataDirectory: directory, from: old, to: new) { _, _ in calls += 1 }
        #expect(result.finished && calls == 1)
        #expect(try KeyRing.open(dataDirectory: directory, master: new).serverKey == ring.serverKey)
        #expect(throws: ConiferError.self) { try KeyRing.open(dataDirectory: directory, master: old) }
        #expect(try !KeyRing.rotate(dataDirectory: directory, from: old, to: new) { _, _ in }.finished)
    }
}
