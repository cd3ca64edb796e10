import ConiferIndex
import Crypto
import CryptoExtras
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An int8 namespace's float vectors in a memory-mapped file beside the index's files, so they need not stay
/// in the process's memory: the graph is walked on codes, and only the rows an answer is rescored on (or a
/// scan reads) are paged in, as page cache the kernel can take back.
///
/// The file is a cache of what the write log and segments hold, made again each time the namespace is
/// loaded: it has no name (`O_TMPFILE`, or a name removed as soon as it is opened), so nothing is left on
/// disk after the process ends, and each row is encrypted (AES-256-CTR under a key made for this file alone
/// and kept only in memory; the counter block is the slot, so no two rows share keystream). Rows are written
/// with `pwrite` (not through the mapping, so writing does not make them resident) into space reserved with
/// `fallocate` a chunk at a time; chunk `k` holds `1024 << k` rows and is mapped read-only once reserved, so
/// a mapping never moves under a reader. If space cannot be reserved, the rest of the rows stay in memory.
public final class MappedVectorRows: VectorRows, @unchecked Sendable {
    private static let baseShift = 10
    private static let maxChunks = 40
    /// Linux's `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`), which Glibc's Swift overlay does not import: a file
    /// with no name in a directory's file system. Elsewhere `open` fails with it and the fallback runs.
    private static let unnamedFile: Int32 = 0o20_200_000
    private let rowBytes: Int
    private let dimension: Int
    let fd: Int32
    private let key: SymmetricKey
    /// Chunk `k`'s mapping (file-backed, or anonymous memory once the disk refused space), set by the writer
    /// before any row in it is published.
    private let chunks: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private var chunkIsFile: [Bool] = []
    private var count = 0
    private let logger: Logger

    /// A row file in `directory`, or nil if none can be made there (the rows then stay in memory).
    public static func make(directory: URL, dimension: Int, logger: Logger) -> MappedVectorRows? {
        var fd = open(directory.path, unnamedFile | O_RDWR | O_CLOEXEC, 0o600)
        if fd < 0 {
            let path = directory.appendingPathComponent("rows-\(UUID().uuidString).tmp").path
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { unlink(path) }
        }
        guard fd >= 0 else {
            logger.warning("int8 rows stay in memory: no row file could be made", metadata: ["directory": "\(directory.path)", "errno": "\(errno)"])
            return nil
        }
        return MappedVectorRows(fd: fd, dimension: dimension, logger: logger)
    }

    private init(fd: Int32, dimension: Int, logger: Logger) {
        self.fd = fd
        self.dimension = dimension
        rowBytes = dimension * MemoryLayout<Float>.stride
        key = SymmetricKey(size: .bits256)
        self.logger = logger
        chunks = .allocate(capacity: Self.maxChunks)
        chunks.initialize(repeating: nil, count: Self.maxChunks)
    }

    deinit {
        for (chunk, isFile) in chunkIsFile.enumerated() {
            let bytes = Self.rows(inChunk: chunk) * rowBytes
            if isFile { munmap(chunks[chunk], bytes) } else { chunks[chunk]?.deallocate() }
        }
        chunks.deallocate()
        close(fd)
    }

    /// Chunk `k` holds `1024 << k` rows and starts at row `(1024 << k) - 1024`.
    @inline(__always)
    private static func rows(inChunk chunk: Int) -> Int {
        (1 << baseShift) << chunk
    }

    /// The chunk holding `slot` and the slot's row number within it.
    @inline(__always)
    private static func locate(_ slot: Int) -> (chunk: Int, row: Int) {
        let biased = slot &+ (1 << baseShift)
        let chunk = (Int.bitWidth &- 1 &- biased.leadingZeroBitCount) &- baseShift
        return (chunk, biased &- rows(inChunk: chunk))
    }

    public func append(_ row: UnsafePointer<Float>) {
        let slot = count
        let (chunk, index) = Self.locate(slot)
        if chunk == chunkIsFile.count { addChunk() }
        let destination = chunks[chunk].unsafelyUnwrapped + index * rowBytes
        let sealed = crypt(UnsafeRawBufferPointer(start: row, count: rowBytes), slot: slot)
        if chunkIsFile[chunk] {
            let offset = off_t((Self.rows(inChunk: chunk) - Self.rows(inChunk: 0) + index) * rowBytes)
            sealed.withUnsafeBytes { bytes in
                var written = 0
                while written < bytes.count {
                    let result = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, offset + off_t(written))
                    // The space was reserved: a failure here is the disk failing, and serving wrong vectors is
                    // worse than stopping (the write log and segments still hold every acknowledged row).
                    guard result > 0 || (result < 0 && errno == EINTR) else { fatalError("row file write failed: errno \(errno)") }
                    if result > 0 { written += result }
                }
            }
        } else {
            sealed.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: rowBytes) }
        }
        count += 1
    }

    public func read(_ slot: Int, into buffer: UnsafeMutablePointer<Float>) {
        let (chunk, index) = Self.locate(slot)
        let source = UnsafeRawBufferPointer(start: chunks[chunk].unsafelyUnwrapped + index * rowBytes, count: rowBytes)
        let plain = crypt(source, slot: slot)
        plain.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: rowBytes) }
    }

    /// AES-256-CTR (its own inverse) with the slot as the counter block's high half.
    private func crypt(_ bytes: UnsafeRawBufferPointer, slot: Int) -> Data {
        var counter = (UInt64(slot).bigEndian, UInt64(0))
        // A 16-byte counter block is always a valid nonce, and a 256-bit key a valid key.
        let nonce = withUnsafeBytes(of: &counter) { try! AES._CTR.Nonce(nonceBytes: $0) }
        return try! AES._CTR.encrypt(bytes, using: key, nonce: nonce)
    }

    /// Reserves and maps the next chunk (the file's next `1024 << k` rows), or gives it memory.
    private func addChunk() {
        let chunk = chunkIsFile.count
        let rows = Self.rows(inChunk: chunk)
        let start = off_t((rows - Self.rows(inChunk: 0)) * rowBytes)
        let bytes = rows * rowBytes
        // posix_fallocate returns its error rather than setting errno.
        let reserved = posix_fallocate(fd, start, off_t(bytes))
        if reserved == 0,
            let mapping = mmap(nil, bytes, PROT_READ, MAP_SHARED, fd, start), mapping != UnsafeMutableRawPointer(bitPattern: -1)
        {
            // Rows are read one at a time, in no order a read-ahead could guess.
            _ = madvise(mapping, bytes, MADV_RANDOM)
            chunks[chunk] = mapping
            chunkIsFile.append(true)
            return
        }
        logger.warning("int8 rows stay in memory: the row file could not grow", metadata: ["rows": "\(rows)", "errno": "\(reserved == 0 ? errno : reserved)"])
        chunks[chunk] = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        chunkIsFile.append(false)
    }
}
