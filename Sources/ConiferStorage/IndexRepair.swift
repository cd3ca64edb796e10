import ConiferKeys
import ConiferCore
import ConiferIndex
import Foundation

/// The operator's explicit acceptance of data loss in a damaged index (`conifer repair`), run with the
/// server stopped.
///
/// Keeps everything readable before the first damaged file, keeps the damaged file and every log file
/// after it in `damaged-<time>/` in the index directory (nothing is deleted), and installs the kept state
/// as a segment at the highest sequence number any file carried, so that no sequence number is ever used
/// twice. Safe to interrupt: the damaged files are hard-linked aside before the new manifest is written,
/// and only removed from their places after it, so a killed repair leaves either the damaged index (run
/// it again) or the repaired one — never a shortened log whose next write would reuse a sequence number.
public enum IndexRepair {
    public struct Report: Sendable, Equatable {
        /// The first damaged file (relative to the index directory) and why, or nil when nothing was wrong.
        public var damagedFile: String?
        public var reason: String?
        /// Files set aside, relative to the index directory.
        public var movedFiles: [String]
        /// Records the repaired index holds.
        public var keptRecords: Int
        /// The sequence number the next write will get.
        public var nextSequence: UInt64
    }

    /// Repairs the index in `directory`, whose data key `keys` unwraps.
    public static func run(directory: URL, keys: any IndexKeyProvider, now: Date = Date()) async throws -> Report {
        guard let file = try IndexKeyFile.read(in: directory) else {
            throw ConiferError.failedPrecondition("No data key in \(directory.path): without it no file of the index can be read.")
        }
        return try run(directory: directory, cipher: FileCipher(key: try await keys.unwrap(file)), now: now)
    }

    static func run(directory: URL, cipher: FileCipher, now: Date = Date()) throws -> Report {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: directory.appendingPathComponent("wal").path) else {
            throw ConiferError.notFound("No index files at \(directory.path).")
        }
        let scan = try Recovery.scan(directory: directory, cipher: cipher)
        guard let damage = scan.damage else {
            return Report(damagedFile: nil, reason: nil, movedFiles: [], keptRecords: scan.state.view.totalRecordCount, nextSequence: scan.sequence + 1)
        }
        let stamp = ISO8601DateFormatter().string(from: now).replacingOccurrences(of: ":", with: "")
        let aside = directory.appendingPathComponent("damaged-\(stamp)")
        try fileManager.createDirectory(at: aside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var damaged = scan.unreadLogs.map { "wal/\(WriteLog.fileName($0))" }
        if let segment = scan.damagedSegment { damaged.insert("segments/\(segment)", at: 0) }
        if damage.file == "manifest" { damaged.insert("manifest", at: 0) }
        var moved: [String] = []
        for relative in damaged where fileManager.fileExists(atPath: directory.appendingPathComponent(relative).path) {
            let copy = aside.appendingPathComponent(relative.replacingOccurrences(of: "/", with: "-"))
            try fileManager.linkItem(at: directory.appendingPathComponent(relative), to: copy)
            moved.append(relative)
        }
        try DurableFile.syncDirectory(aside)
        // Replaces the manifest and removes the originals: every log file is at or below the new sequence.
        let sequence = scan.highestSequence
        let log = WriteLog(directory: directory.appendingPathComponent("wal"), cipher: cipher)
        try SegmentFile.install(scan.state.view.frozen(), sequence: sequence, directory: directory, cipher: cipher, folding: try log.sequences())
        return Report(
            damagedFile: damage.file, reason: damage.reason, movedFiles: moved,
            keptRecords: scan.state.view.totalRecordCount, nextSequence: sequence + 1
        )
    }
}
