import ConiferKeys
import Crypto
import Foundation

/// How an index's files are written and read: sealed under the index's data key (`SealedFile`:
/// AES-256-GCM), or as plain bytes — only to read an index written before encryption at rest while it is
/// converted, and for benchmarks that measure what sealing costs.
public struct FileCipher: Sendable {
    let key: SymmetricKey?

    public init(key: SymmetricKey) {
        self.key = key
    }

    private init() {
        key = nil
    }

    /// No encryption: plain bytes (never for an index that has a data key).
    public static let plaintext = FileCipher()

    /// Writes a file durably (`DurableFile`), sealing what `produce` hands to its sink.
    func write(_ purpose: SealedFile.Purpose, to url: URL, _ produce: (_ sink: ([UInt8]) throws -> Void) throws -> Void) throws {
        guard let key else { return try DurableFile.write(to: url, produce) }
        try DurableFile.write(to: url) { sink in
            try withoutActuallyEscaping(sink) { sink in
                var writer = SealedFile.Writer(key: key, purpose: purpose, sink: sink)
                try produce { try writer.write($0) }
                try writer.finish()
            }
        }
    }

    func write(_ purpose: SealedFile.Purpose, _ bytes: [UInt8], to url: URL) throws {
        try write(purpose, to: url) { sink in try sink(bytes) }
    }

    /// Reads a file a chunk at a time (`SealedFile.Reader`; a plain file is one chunk).
    func chunks(_ purpose: SealedFile.Purpose, _ url: URL) throws -> FileChunks {
        guard let key else { return FileChunks(plain: try DurableFile.read(url)) }
        do {
            return FileChunks(sealed: try SealedFile.reader(url, key: key, purpose: purpose))
        } catch let error as SealError {
            throw StorageCorruption(error.description)
        }
    }

    /// Reads a file, opening its seal: a damaged or altered file throws `StorageCorruption`, never returns bytes.
    func read(_ purpose: SealedFile.Purpose, _ url: URL) throws -> [UInt8] {
        guard let key else { return try DurableFile.read(url) }
        do {
            return try SealedFile.read(url, key: key, purpose: purpose)
        } catch let error as SealError {
            throw StorageCorruption(error.description)
        }
    }
}

/// A file's plaintext a chunk at a time; a damaged or altered chunk throws `StorageCorruption` when reached.
struct FileChunks {
    private var sealed: SealedFile.Reader?
    private var plain: [UInt8]?

    init(sealed: SealedFile.Reader) { self.sealed = sealed }
    init(plain: [UInt8]) { self.plain = plain }

    /// Appends the next chunk's plaintext to `buffer`; false after the last.
    mutating func next(appendingTo buffer: inout [UInt8]) throws -> Bool {
        guard sealed != nil else {
            defer { plain = nil }
            guard let plain else { return false }
            buffer.append(contentsOf: plain)
            return true
        }
        do {
            return try sealed?.next(appendingTo: &buffer) ?? false
        } catch {
            throw StorageCorruption(error.description)
        }
    }
}
