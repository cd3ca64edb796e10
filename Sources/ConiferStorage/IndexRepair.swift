import ConiferCore
import ConiferIndex
import Foundation

/// The operator's explicit acceptance of data loss in a damaged index (`conifer repair`), run with the
/// server stopped.
///
/// Keeps everything readable before the first damaged file, moves the damaged file and every log file
/// after it into `damaged-<time>/` in the index directory (nothing is deleted), and writes a new segment
/// and manifest at the highest sequence number any file carried, so that no sequence number is ever
/// used twice.
public enum IndexRepair {
    public struct Report: Sendable, Equatable {
        /// The first damaged file (relative to the index directory) and why, or nil when nothing was wrong.
        public var damagedFile: String?
        public var reason: String?
        /// Files moved aside, relative to the index directory.
        public var movedFiles: [String]
        /// Records the repaired index holds.
        public var keptRecords: Int
        /// The sequence number the next write will get.
        public var nextSequence: UInt64
    }

    public static func run(directory: URL, now: Date = Date()) throws -> Report {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("wal").path) else {
            throw ConiferError.notFound("No index files at \(directory.path).")
        }
        let scan = try Recovery.scan(directory: directory)
        guard let damage = scan.damage else {
            return Report(damagedFile: nil, reason: nil, movedFiles: [], keptRecords: scan.state.totalRecordCount, nextSequence: scan.sequence + 1)
        }
        let stamp = ISO8601DateFormatter().string(from: now).replacingOccurrences(of: ":", with: "")
        let aside = directory.appendingPathComponent("damaged-\(stamp)")
        try FileManager.default.createDirectory(at: aside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var moved: [String] = []
        func moveAside(_ relative: String) throws {
            let source = directory.appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: source.path) else { return }
            try FileManager.default.moveItem(at: source, to: aside.appendingPathComponent(relative.replacingOccurrences(of: "/", with: "-")))
            moved.append(relative)
        }
        if let segment = scan.damagedSegment { try moveAside("segments/\(segment)") }
        if damage.file == "manifest" { try moveAside("manifest") }
        for sequence in scan.unreadLogs { try moveAside("wal/\(WriteLog.fileName(sequence))") }

        // The kept state becomes one segment at the highest sequence seen; the log files it folds go.
        let sequence = scan.highestSequence
        let segments = directory.appendingPathComponent("segments")
        let name = SegmentFile.fileName(sequence)
        try DurableFile.write(SegmentFile.encode(scan.state, sequence: sequence), to: segments.appendingPathComponent(name))
        try DurableFile.write(Array(try JSONEncoder().encode(Manifest(segment: name, sequence: sequence))), to: directory.appendingPathComponent("manifest"))
        for old in try FileManager.default.contentsOfDirectory(atPath: segments.path) where old != name && old.hasSuffix(".seg") {
            try FileManager.default.removeItem(at: segments.appendingPathComponent(old))
        }
        let log = WriteLog(directory: directory.appendingPathComponent("wal"))
        for folded in try log.sequences() where folded <= sequence {
            try FileManager.default.removeItem(at: log.url(for: folded))
        }
        try DurableFile.syncDirectory(log.directory)
        try DurableFile.syncDirectory(segments)
        try DurableFile.syncDirectory(aside)
        return Report(
            damagedFile: damage.file, reason: damage.reason, movedFiles: moved,
            keptRecords: scan.state.totalRecordCount, nextSequence: sequence + 1
        )
    }
}
