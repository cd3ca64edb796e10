import ConiferCore
import ConiferIndex
import Foundation
import Logging

/// Rebuilds an index's state from its directory: manifest → segment → log files after the segment's
/// sequence, in order, stopping cleanly at the first torn, corrupt or missing file.
enum Recovery {
    struct Result {
        var state: IndexState
        var lastSequence: UInt64
        var unfoldedLogs: [(sequence: UInt64, bytes: Int)]
    }

    @concurrent
    static func run(directory: URL, logger: Logger) async throws -> Result {
        let fileManager = FileManager.default
        let wal = directory.appendingPathComponent("wal")
        let segments = directory.appendingPathComponent("segments")
        for folder in [directory, wal, segments] {
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Temporary files were never renamed into place, so nothing acknowledged is in them.
            for name in try fileManager.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("tmp-") {
                try fileManager.removeItem(at: folder.appendingPathComponent(name))
            }
        }

        var state = IndexState()
        var sequence: UInt64 = 0
        let manifestURL = directory.appendingPathComponent("manifest")
        if fileManager.fileExists(atPath: manifestURL.path) {
            let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
            sequence = manifest.sequence
            if let segment = manifest.segment {
                let decoded = try SegmentFile.decode(DurableFile.read(segments.appendingPathComponent(segment)))
                guard decoded.sequence == manifest.sequence else {
                    throw StorageCorruption("segment \(segment) covers sequence \(decoded.sequence), manifest says \(manifest.sequence)")
                }
                state = decoded.state
            }
        }

        let log = WriteLog(directory: wal)
        var unfolded: [(sequence: UInt64, bytes: Int)] = []
        var stopped = false
        for fileSequence in try log.sequences() {
            let url = log.url(for: fileSequence)
            if fileSequence <= sequence {
                // Folded by a compaction that stopped before removing it.
                try? fileManager.removeItem(at: url)
                continue
            }
            if !stopped {
                do {
                    guard fileSequence == sequence + 1 else { throw StorageCorruption("log file \(sequence + 1) is missing") }
                    let bytes = try DurableFile.read(url)
                    state.apply(try WriteLog.decode(bytes, expectedSequence: fileSequence))
                    sequence = fileSequence
                    unfolded.append((fileSequence, bytes.count))
                    continue
                } catch {
                    logger.error(
                        "write log ends in a torn or corrupt file; recovery stops before it",
                        metadata: ["directory": "\(directory.path)", "file": "\(url.lastPathComponent)", "error": "\(error)"]
                    )
                    stopped = true
                }
            }
            // Kept aside for inspection, never replayed.
            let quarantined = wal.appendingPathComponent("corrupt-\(url.lastPathComponent)")
            try? fileManager.removeItem(at: quarantined)
            try fileManager.moveItem(at: url, to: quarantined)
        }
        return Result(state: state, lastSequence: sequence, unfoldedLogs: unfolded)
    }
}
