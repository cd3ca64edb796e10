import Crypto
import Foundation

/// AES-256-GCM for files of any size: the format of every file under the data directory that holds customer
/// data (ARCHITECTURE.md §4).
///
/// Layout: `CNFENC01` · purpose (1 byte) · salt (32 bytes) · chunk size (u32, big-endian) · chunks. Each
/// chunk is up to `chunk size` bytes of plaintext sealed under a key made for this file alone (HKDF-SHA256
/// of the data key, the salt and the purpose), followed by its 16-byte tag. A chunk's nonce is its number
/// and whether it is the last one, and every chunk authenticates the header. So a changed byte anywhere,
/// chunks reordered, dropped or repeated, a cut-off tail, a file of another purpose or another data key:
/// each fails to open, and nothing of it is returned.
public enum SealedFile {
    public static let magic = Array("CNFENC01".utf8)
    static let saltLength = 32
    static let tagLength = 16
    static let headerLength = 8 + 1 + 32 + 4
    /// Plaintext per chunk: large enough that tags and calls cost nothing, small enough to stream.
    public static let defaultChunkSize = 1 << 20

    /// What a file holds; part of the header, so a file cannot be passed off as another kind.
    public enum Purpose: UInt8, Sendable {
        case writeLog = 1
        case segment = 2
        case manifest = 3
        case secret = 4
        case backup = 5
    }

    /// Whether `bytes` start like a sealed file (to tell one from a file written before encryption).
    public static func isSealed(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: magic)
    }

    /// Seals `plaintext` whole.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, purpose: Purpose) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(headerLength + plaintext.count + (plaintext.count / defaultChunkSize + 1) * tagLength)
        var writer = Writer(key: key, purpose: purpose) { output.append(contentsOf: $0) }
        // Writing into memory cannot fail.
        try? writer.write(plaintext)
        try? writer.finish()
        return output
    }

    /// Opens a sealed file held in memory.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, purpose: Purpose) throws(SealError) -> [UInt8] {
        var offset = 0
        var reader = try Reader(length: sealed.count, key: key, purpose: purpose) { count throws(SealError) in
            guard offset + count <= sealed.count else { throw SealError("sealed file truncated") }
            defer { offset += count }
            return Array(sealed[offset..<(offset + count)])
        }
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(sealed.count)
        while try reader.next(appendingTo: &plaintext) {}
        return plaintext
    }

    /// Opens the sealed file at `url`, reading it chunk by chunk (a large segment is never in memory twice).
    public static func read(_ url: URL, key: SymmetricKey, purpose: Purpose) throws -> [UInt8] {
        var reader = try reader(url, key: key, purpose: purpose)
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(reader.length)
        while try reader.next(appendingTo: &plaintext) {}
        return plaintext
    }

    /// A reader of the sealed file at `url` one chunk at a time (at most one chunk in memory).
    public static func reader(_ url: URL, key: SymmetricKey, purpose: Purpose) throws -> Reader {
        let handle = try FileHandle(forReadingFrom: url)
        let length = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        return try Reader(length: length, key: key, purpose: purpose) { count throws(SealError) in
            guard let data = try? handle.read(upToCount: count), data.count == count else { throw SealError("\(url.lastPathComponent) is truncated") }
            return [UInt8](data)
        }
    }

    /// Opens a sealed file a chunk at a time: `next(appendingTo:)` authenticates and decrypts the following
    /// chunk. A failing chunk throws when it is reached; what came before it is authentic, but the file as a
    /// whole is not, so act on a file only once every chunk was read.
    public struct Reader {
        /// The sealed file's length in bytes.
        public let length: Int
        private let header: [UInt8]
        private let fileKey: SymmetricKey
        private let sealedChunk: Int
        private let chunks: Int
        private var number = 0
        private let source: (Int) throws(SealError) -> [UInt8]

        init(length: Int, key: SymmetricKey, purpose: Purpose, source: @escaping (Int) throws(SealError) -> [UInt8]) throws(SealError) {
            guard length >= headerLength + tagLength else { throw SealError("not a sealed file (too short)") }
            let header = try source(headerLength)
            guard header.starts(with: magic) else { throw SealError("not a sealed file") }
            guard header[8] == purpose.rawValue else { throw SealError("sealed for another purpose") }
            let chunkSize = Int(header[41]) << 24 | Int(header[42]) << 16 | Int(header[43]) << 8 | Int(header[44])
            guard chunkSize > 0, chunkSize <= 64 << 20 else { throw SealError("implausible chunk size") }
            self.length = length
            self.header = header
            self.fileKey = derive(key, salt: header[9..<41], purpose: purpose)
            self.sealedChunk = chunkSize + tagLength
            self.chunks = max(1, (length - headerLength + sealedChunk - 1) / sealedChunk)
            self.source = source
        }

        /// Appends the next chunk's plaintext to `buffer` (no copy in between); false after the last.
        public mutating func next(appendingTo buffer: inout [UInt8]) throws(SealError) -> Bool {
            guard number < chunks else { return false }
            let last = number == chunks - 1
            let count = last ? length - headerLength - number * sealedChunk : sealedChunk
            guard count >= tagLength else { throw SealError("sealed file truncated") }
            let sealed = try source(count)
            defer { number += 1 }
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: try nonce(number, last: last), ciphertext: Data(sealed[..<(count - tagLength)]), tag: Data(sealed[(count - tagLength)...])
                )
                try AES.GCM.open(box, using: fileKey, authenticating: Data(header)).withUnsafeBytes { buffer.append(contentsOf: $0) }
                return true
            } catch {
                throw SealError("chunk \(number) failed authentication (damaged, altered, or sealed under another key)")
            }
        }
    }

    /// Seals a stream: plaintext goes in by `write` in pieces of any size, sealed chunks come out to the sink.
    public struct Writer {
        private let fileKey: SymmetricKey
        private let header: [UInt8]
        private let chunkSize: Int
        private let sink: ([UInt8]) throws -> Void
        private var buffer: [UInt8] = []
        private var number: UInt64 = 0
        private var headerWritten = false

        public init(key: SymmetricKey, purpose: Purpose, chunkSize: Int = SealedFile.defaultChunkSize, sink: @escaping ([UInt8]) throws -> Void) {
            var salt = [UInt8](repeating: 0, count: SealedFile.saltLength)
            var generator = SystemRandomNumberGenerator()
            for i in salt.indices { salt[i] = generator.next() }
            let size = UInt32(chunkSize)
            header = magic + [purpose.rawValue] + salt + [UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)]
            fileKey = SealedFile.derive(key, salt: salt[...], purpose: purpose)
            self.chunkSize = chunkSize
            self.sink = sink
        }

        public mutating func write(_ bytes: [UInt8]) throws {
            if !headerWritten {
                try sink(header)
                headerWritten = true
            }
            buffer.append(contentsOf: bytes)
            // A full chunk is sealed only once more follows, so the last chunk always knows it is the last.
            var start = 0
            while buffer.count - start > chunkSize {
                try sink(seal(buffer[start..<(start + chunkSize)], last: false))
                start += chunkSize
            }
            if start > 0 { buffer.removeFirst(start) }
        }

        public mutating func finish() throws {
            try write([])
            try sink(seal(buffer[...], last: true))
            buffer = []
        }

        private mutating func seal(_ chunk: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
            defer { number += 1 }
            // Through `Data` and raw buffers: handing swift-crypto an array slice, or copying its `Data` out
            // with `Array(_:)`, measured several times slower than the AES-GCM work itself.
            let box = try AES.GCM.seal(Data(chunk), using: fileKey, nonce: try SealedFile.nonce(Int(number), last: last), authenticating: Data(header))
            var sealed: [UInt8] = []
            sealed.reserveCapacity(chunk.count + SealedFile.tagLength)
            box.ciphertext.withUnsafeBytes { sealed.append(contentsOf: $0) }
            box.tag.withUnsafeBytes { sealed.append(contentsOf: $0) }
            return sealed
        }
    }

    static func derive(_ key: SymmetricKey, salt: ArraySlice<UInt8>, purpose: Purpose) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: salt, info: Array("conifer sealed file v1".utf8) + [purpose.rawValue], outputByteCount: 32)
    }

    /// The chunk number (64 bits, big-endian), three zero bytes and the last-chunk flag.
    static func nonce(_ number: Int, last: Bool) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: UInt64(number) >> (56 - 8 * i)) }
        bytes[11] = last ? 1 : 0
        return try AES.GCM.Nonce(data: bytes)
    }
}

/// Sealed data that could not be opened: damaged, altered, truncated, or sealed under another key. Never
/// carries key material.
public struct SealError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
