#if canImport(Glibc)
import Glibc
#endif

/// Append-only storage of fixed-width slots in chunks that never move, so readers can use a published
/// slot's memory while the single writer appends more.
///
/// Chunk `k` holds `256 << k` slots (contiguous, `width` elements each), so a fixed directory of 40 chunk
/// pointers addresses more slots than a process can hold and is never reallocated under a reader. Only the
/// writer calls `appendSlot`; readers read slots below a count the writer published through a lock or an
/// acquiring load, which orders the writer's initialization before their reads.
final class ChunkedBuffer<Element: ~Copyable>: @unchecked Sendable {
    /// Elements per slot (a vector's dimension, or 1).
    let width: Int
    private static var baseShift: Int { 8 }
    private static var base: Int { 1 << baseShift }
    private static var maxChunks: Int { 40 }
    private let chunks: UnsafeMutablePointer<UnsafeMutablePointer<Element>?>
    /// Slots initialized so far (the writer's count; readers use their own published count).
    private(set) var count = 0
    private var chunkCount = 0

    init(width: Int = 1) {
        self.width = max(1, width)
        chunks = .allocate(capacity: Self.maxChunks)
        chunks.initialize(repeating: nil, count: Self.maxChunks)
    }

    deinit {
        for slot in 0..<count { pointer(slot).deinitialize(count: width) }
        for chunk in 0..<chunkCount { chunks[chunk].map { UnsafeMutableRawPointer($0).deallocate() } }
        chunks.deallocate()
    }

    /// The first of the slot's `width` elements.
    @inline(__always)
    func pointer(_ slot: Int) -> UnsafeMutablePointer<Element> {
        addresses.pointer(slot)
    }

    /// The buffer's addressing as a plain value (the chunk directory never moves): a loop that addresses
    /// many slots keeps it in registers instead of reading the buffer's fields again after every store. It
    /// reads the buffer's memory: use it only while the buffer lives, for slots below a published count.
    var addresses: Addresses { Addresses(chunks: chunks, width: width) }

    struct Addresses {
        fileprivate let chunks: UnsafeMutablePointer<UnsafeMutablePointer<Element>?>
        fileprivate let width: Int

        /// The first of the slot's `width` elements.
        @inline(__always)
        func pointer(_ slot: Int) -> UnsafeMutablePointer<Element> {
            let biased = slot &+ ChunkedBuffer.base
            let chunk = (Int.bitWidth &- 1 &- biased.leadingZeroBitCount) &- ChunkedBuffer.baseShift
            return chunks[chunk].unsafelyUnwrapped + (biased &- (ChunkedBuffer.base &<< chunk)) &* width
        }
    }

    /// Storage for the next slot's `width` elements, which the caller must initialize before publishing it.
    func appendSlot() -> UnsafeMutablePointer<Element> {
        if count == Self.base * ((1 << chunkCount) - 1) {
            let bytes = (Self.base << chunkCount) * width * MemoryLayout<Element>.stride
            chunks[chunkCount] = Self.allocateChunk(bytes: bytes).bindMemory(to: Element.self, capacity: bytes / MemoryLayout<Element>.stride)
            chunkCount += 1
        }
        count += 1
        return pointer(count - 1)
    }
}

extension ChunkedBuffer where Element: ~Copyable {
    private static var hugePage: Int { 2 << 20 }

    /// Memory for one chunk: cache-line aligned, so rows whose size is a multiple of 64 bytes never straddle
    /// a line; a chunk of several megabytes is aligned to 2 MiB and offered to the kernel for transparent
    /// huge pages, so a graph search jumping between rows misses the TLB far less often (about 10 % more
    /// queries per second at 100k × 128; the kernel may decline, which changes nothing else).
    static func allocateChunk(bytes: Int) -> UnsafeMutableRawPointer {
        guard bytes >= 2 * hugePage else {
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(64, MemoryLayout<Element>.alignment))
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: hugePage)
        #if os(Linux)
        _ = madvise(memory, bytes / hugePage * hugePage, MADV_HUGEPAGE)
        #endif
        return memory
    }
}

extension ChunkedBuffer where Element: Copyable {
    func append(_ value: consuming Element) {
        appendSlot().initialize(to: value)
    }

    @inline(__always)
    subscript(slot: Int) -> Element {
        pointer(slot).pointee
    }
}
