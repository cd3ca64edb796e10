import ConiferCore
import Foundation

/// The data directory holds the catalog (secret hashes), the token signing key and the index data, so it
/// and the catalog files are owner-only (0700 / 0600), whatever the umask or an earlier version left.
enum DataDirectory {
    static let catalogFiles = ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"]

    /// Creates the directory if needed, refuses one owned by another user, and tightens permissions.
    /// The catalog file is created empty with mode 0600 before SQLite opens it, because SQLite gives its
    /// `-wal` and `-shm` files the mode of the database file.
    static func prepare(_ directory: URL) throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let owner = (try fileManager.attributesOfItem(atPath: directory.path)[.ownerAccountID] as? NSNumber)?.uint32Value
        guard owner == getuid() else {
            throw ConiferError.invalidArgument("The data directory \(directory.path) belongs to another user; refusing to use it.")
        }
        try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
        let catalog = directory.appendingPathComponent(catalogFiles[0]).path
        if !fileManager.fileExists(atPath: catalog) {
            guard fileManager.createFile(atPath: catalog, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw ConiferError.invalidArgument("Cannot create the catalog in \(directory.path).")
            }
        }
        for name in catalogFiles {
            let path = directory.appendingPathComponent(name).path
            if fileManager.fileExists(atPath: path) {
                try fileManager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            }
        }
    }
}

/// An exclusive lock on a data directory (`flock` on its `lock` file), held by `conifer serve` for as long
/// as it runs and by the operator commands that rewrite files (repair, master-key rotation), so none of them
/// runs beside another on the same files. The kernel drops it when the process ends, however it ends.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock, or throws naming the directory when another process holds it.
    public init(directory: URL) throws(ConiferError) {
        let path = directory.appendingPathComponent("lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConiferError(.internalError, "Cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ConiferError.failedPrecondition(
                "The data directory \(directory.path) is in use by another Conifer process (a running `conifer serve`?); stop it first."
            )
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
