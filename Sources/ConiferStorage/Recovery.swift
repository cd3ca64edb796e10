import ConiferCore
import ConiferIndex
import Foundation

/// Rebuilds an index's state from its directory: manifest → segment → every log file after the segment's
/// sequence, in order.
///
/// Only a temporary file (`tmp-…`) can be torn: a log file is fsynced before it is renamed into place, so
/// a renamed file that fails its checksum, or a gap in the sequence, is corruption, and so is a damaged
/// manifest or segment. Recovery then refuses to open the index (`IndexCorruption`) rather than serve a
/// silently shortened history; `IndexRepair` is the operator's explicit way to accept the loss.
enum Recovery {
    struct Result {
        var state: IndexState
        var lastSequence: UInt64
        var unfoldedLogs: [(sequence: UInt64, bytes: Int)]
    }

    /// What is durable in a directory up to the first damage, and where that damage is.
    struct Scan {
        var state: IndexState
        /// The last sequence applied.
        var sequence: UInt64 = 0
        var unfolded: [(sequence: UInt64, bytes: Int)] = []
        /// The first damaged file and why, if any.
        var damage: (file: String, reason: String)?
        /// Log files from the damaged one on, never applied.
        var unreadLogs: [UInt64] = []
        /// The largest sequence any file in the directory carries, damaged or not.
        var highestSequence: UInt64 = 0
        /// The segment file the manifest names, if it could not be read.
        var damagedSegment: String?
    }

    @concurrent
    static func run(directory: URL, settings: EngineSettings, cipher: FileCipher) async throws -> Result {
        let scan = try scan(directory: directory, settings: settings, cipher: cipher)
        if let damage = scan.damage {
            throw IndexCorruption(file: damage.file, reason: damage.reason)
        }
        return Result(state: scan.state, lastSequence: scan.sequence, unfoldedLogs: scan.unfolded)
    }

    /// Reads a directory as far as it is intact. Creates the folders of a new index and removes temporary
    /// files (never renamed into place, so nothing acknowledged is in them) and log files a finished
    /// compaction had folded.
    static func scan(directory: URL, settings: EngineSettings = .init(), cipher: FileCipher) throws -> Scan {
        let fileManager = FileManager.default
        let wal = directory.appendingPathComponent("wal")
        let segments = directory.appendingPathComponent("segments")
        for folder in [directory, wal, segments] {
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for name in try fileManager.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("tmp-") {
                try fileManager.removeItem(at: folder.appendingPathComponent(name))
            }
        }

        var scan = Scan(state: IndexState(settings: settings))
        do {
            if let manifest = try Manifest.read(in: directory, cipher: cipher) {
                scan.sequence = manifest.sequence
                if let segment = manifest.segment {
                    do {
                        let decoded = try SegmentFile.decode(cipher.read(.segment, segments.appendingPathComponent(segment)), settings: settings)
                        guard decoded.sequence == manifest.sequence else {
                            throw StorageCorruption("segment covers sequence \(decoded.sequence), the manifest says \(manifest.sequence)")
                        }
                        scan.state = decoded.state
                    } catch {
                        scan.damagedSegment = segment
                        scan.damage = ("segments/\(segment)", "\(error)")
                    }
                }
            }
        } catch let error as StorageCorruption {
            scan.damage = (Manifest.fileName, error.description)
        }
        scan.highestSequence = scan.sequence

        // A damaged segment does not stop the replay: the log files after it hold whole records, which a
        // repair keeps. A damaged log file does: what follows it cannot be applied in order.
        let log = WriteLog(directory: wal, cipher: cipher)
        var logDamaged = false
        for fileSequence in try log.sequences() {
            scan.highestSequence = max(scan.highestSequence, fileSequence)
            let url = log.url(for: fileSequence)
            if fileSequence <= scan.sequence {
                // Folded by a compaction that stopped before removing it (kept beside a damaged segment).
                if scan.damagedSegment == nil { try? fileManager.removeItem(at: url) }
                continue
            }
            guard !logDamaged else {
                scan.unreadLogs.append(fileSequence)
                continue
            }
            do {
                guard fileSequence == scan.sequence + 1 else {
                    throw StorageCorruption("log file \(WriteLog.fileName(scan.sequence + 1)) is missing")
                }
                let (operations, bytes) = try log.read(fileSequence)
                scan.state.apply(operations)
                scan.sequence = fileSequence
                scan.unfolded.append((fileSequence, bytes))
            } catch {
                logDamaged = true
                scan.damage = scan.damage ?? ("wal/\(url.lastPathComponent)", "\(error)")
                scan.unreadLogs.append(fileSequence)
            }
        }
        return scan
    }
}

/// An index whose stored files failed an integrity check: it refuses service until an operator repairs it.
public struct IndexCorruption: Error, CustomStringConvertible {
    /// The damaged file, relative to the index directory.
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
