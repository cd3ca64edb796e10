import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file writes: a new file becomes visible under its name only once its bytes and the directory
/// entry are on disk.
public enum DurableFile {
    /// The prefix of the temporary names `write` uses before the rename.
    public static let temporaryPrefix = "tmp-"

    /// Removes the temporary files a stop in the middle of a write left in `directory` (nothing in them was ever
    /// visible under its name); returns how many. Only for a directory no write is going on in (at start).
    @discardableResult
    public static func removeTemporaryFiles(in directory: URL) -> Int {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix(temporaryPrefix) }
        for name in names { try? FileManager.default.removeItem(at: directory.appendingPathComponent(name)) }
        return names.count
    }

    /// Writes `bytes` to a temporary name, fsyncs it, renames it to `url` and fsyncs the directory.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(to: url) { sink in try sink(bytes) }
    }

    /// The same for a file produced in pieces: `produce` hands each piece, in order, to the sink it is given.
    public static func write(to url: URL, _ produce: (_ sink: ([UInt8]) throws -> Void) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent("\(temporaryPrefix)\(UUID().uuidString)")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw posixError("open \(temporary.path)") }
        do {
            try produce { bytes in
                try bytes.withUnsafeBytes { buffer in
                    var written = 0
                    while written < buffer.count {
                        let result = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                        if result < 0 {
                            if errno == EINTR { continue }
                            throw posixError("write \(temporary.path)")
                        }
                        written += result
                    }
                }
            }
            guard fsync(fd) == 0 else { throw posixError("fsync \(temporary.path)") }
        } catch {
            close(fd)
            unlink(temporary.path)
            throw error
        }
        close(fd)
        guard rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw posixError("rename to \(url.path)")
        }
        try syncDirectory(directory)
    }

    /// Makes a file written by other means under a temporary name (`temporary`, in the same directory as `url`)
    /// visible as `url`: fsyncs it, renames it and fsyncs the directory.
    public static func commit(_ temporary: URL, as url: URL) throws {
        let fd = open(temporary.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open \(temporary.path)") }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced else { throw posixError("fsync \(temporary.path)") }
        guard rename(temporary.path, url.path) == 0 else { throw posixError("rename to \(url.path)") }
        try syncDirectory(url.deletingLastPathComponent())
    }

    /// A temporary name beside `url`, which `removeTemporaryFiles` clears if a stop leaves it behind.
    public static func temporaryName(beside url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent("\(temporaryPrefix)\(UUID().uuidString)")
    }

    /// Makes renames and unlinks in `directory` durable.
    public static func syncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open directory \(directory.path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw posixError("fsync directory \(directory.path)") }
    }

    public static func read(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    private static func posixError(_ what: String) -> any Error {
        let code = errno
        return StorageIOError(description: "\(what): \(String(cString: strerror(code)))")
    }
}

/// An I/O failure writing or reading a file (the server answers it with a generic 500 and logs it).
public struct StorageIOError: Error, CustomStringConvertible {
    public var description: String
}
