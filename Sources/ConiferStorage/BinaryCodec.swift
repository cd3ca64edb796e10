import ConiferCore
import Foundation

/// Why a stored file could not be read.
public struct StorageCorruption: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Appends little-endian binary fields to a byte buffer.
struct BinaryWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func f64(_ value: Double) { u64(value.bitPattern) }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func floats(_ values: [Float]) {
        u32(UInt32(values.count))
        // Float's memory layout is IEEE 754 little endian on every platform Conifer runs on.
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    mutating func uint32s(_ values: [UInt32]) {
        u32(UInt32(values.count))
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    mutating func record(_ record: VectorRecord) {
        string(record.id)
        floats(record.values)
        sparse(record.sparse)
        metadata(record.metadata)
    }

    mutating func sparse(_ sparse: SparseVector?) {
        if let sparse {
            u8(1)
            uint32s(sparse.indices)
            floats(sparse.values)
        } else {
            u8(0)
        }
    }

    mutating func metadata(_ metadata: Metadata) {
        u32(UInt32(metadata.count))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            string(key)
            switch value {
            case .string(let text):
                u8(1)
                string(text)
            case .number(let number):
                u8(2)
                f64(number)
            case .bool(let flag):
                u8(3)
                u8(flag ? 1 : 0)
            case .strings(let list):
                u8(4)
                u32(UInt32(list.count))
                for item in list { string(item) }
            }
        }
    }
}

/// Reads what `BinaryWriter` wrote, throwing `StorageCorruption` instead of reading out of bounds.
struct BinaryReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// Where reading stops (a segment's checksum follows its body).
    let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var isAtEnd: Bool { offset == end }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= end - offset else { throw StorageCorruption("truncated at byte \(offset)") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8() throws -> UInt8 {
        guard let byte = try take(1).first else { throw StorageCorruption("truncated at byte \(offset)") }
        return byte
    }

    mutating func u32() throws -> UInt32 {
        try take(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }

    mutating func u64() throws -> UInt64 {
        try take(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    mutating func string() throws -> String {
        let count = Int(try u32())
        guard let text = String(validating: try take(count), as: UTF8.self) else { throw StorageCorruption("invalid UTF-8 at byte \(offset)") }
        return text
    }

    mutating func floats() throws -> [Float] { try values(of: Float.self) }


    mutating func uint32s() throws -> [UInt32] { try values(of: UInt32.self) }

    /// A length-prefixed array of fixed-size little-endian values, copied out in one piece.
    private mutating func values<T: BitwiseCopyable>(of _: T.Type) throws -> [T] {
        let count = Int(try u32())
        let raw = try take(count * MemoryLayout<T>.stride)
        return raw.withUnsafeBytes { buffer in
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: buffer)
                initialized = count
            }
        }
    }

    mutating func record() throws -> VectorRecord {
        let id = try string()
        let values = try floats()
        let sparse = try sparse()
        return VectorRecord(id: id, values: values, sparse: sparse, metadata: try metadata())
    }

    mutating func sparse() throws -> SparseVector? {
        guard try u8() == 1 else { return nil }
        let indices = try uint32s()
        let values = try floats()
        guard indices.count == values.count else { throw StorageCorruption("sparse length mismatch at byte \(offset)") }
        return SparseVector(indices: indices, values: values)
    }

    mutating func metadata() throws -> Metadata {
        var metadata: Metadata = [:]
        for _ in 0..<Int(try u32()) {
            let key = try string()
            switch try u8() {
            case 1: metadata[key] = .string(try string())
            case 2: metadata[key] = .number(try f64())
            case 3: metadata[key] = .bool(try u8() == 1)
            case 4:
                var list: [String] = []
                for _ in 0..<Int(try u32()) { list.append(try string()) }
                metadata[key] = .strings(list)
            default: throw StorageCorruption("unknown metadata tag at byte \(offset)")
            }
        }
        return metadata
    }
}
