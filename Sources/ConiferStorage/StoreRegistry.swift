import ConiferCore
import ConiferIndex
import ConiferKeys
import Foundation
import Logging
import Synchronization

/// Opens index stores on first use and keeps them open; retires an index's files when it is dropped.
///
/// Index directories live at `<root>/<index-id>`; each holds its data key, wrapped (`IndexKeyFile`), and
/// files sealed under it. A dropped index's key is destroyed at once and its directory moved to
/// `<root>/deleted/<index-id>`, where `purgeDeleted` removes it once the purge window has passed.
///
/// A data key with a lifetime (one a customer-managed key wraps) is unwrapped again when its lifetime ends,
/// at the first request after or by `renewKeys`, once however many callers wait. When that fails the store is
/// closed (its key leaves memory) and the index refuses service with the provider's error until the key
/// unwraps again.
public actor StoreRegistry {
    let root: URL
    let keys: any IndexKeyProvider
    let policy: CompactionPolicy
    let logger: Logger
    private var stores: [UUID: Task<IndexStore, any Error>] = [:]
    /// Indexes whose files failed an integrity check; they refuse service until repaired and restarted.
    private var corrupt: Set<UUID> = []
    /// Open indexes whose data key must be unwrapped again when its lease ends.
    private var leases: [UUID: KeyLease] = [:]
    /// Indexes whose data key could not be had, and until when that answer stands.
    private var refusals: [UUID: (error: ConiferError, until: ContinuousClock.Instant)] = [:]
    /// The stores that are open, with the end of their key lease: what `readyStore` answers from without waiting
    /// for this actor. Written here whenever a store finishes opening, its lease is renewed or ends, or it is dropped.
    private let ready = Mutex<[UUID: ReadyStore]>([:])

    private struct ReadyStore {
        var store: IndexStore
        var until: ContinuousClock.Instant?
    }

    struct KeyLease {
        var file: IndexKeyFile
        var lifetime: Duration
        var until: ContinuousClock.Instant
        /// The unwrap in flight, which every caller arriving meanwhile waits for.
        var renewal: Task<Void, any Error>?
    }

    /// The time key leases and refusals are measured by (a test's own clock; the continuous clock otherwise).
    let now: @Sendable () -> ContinuousClock.Instant
    /// This server's origin when several servers share the catalog: the indexes it creates are its own, and the
    /// files of another server's indexes (`IndexDefinition.home`) are not here, so they are refused, never made —
    /// unless an index store holds them: then this server serves them as replicas that follow the home's writes.
    public nonisolated let home: String?
    /// Where indexes' files are kept (`--index-store`): then the objects are the indexes, and `root` a cache.
    let objects: (any ObjectStore)?

    public init(
        root: URL, keys: any IndexKeyProvider, policy: CompactionPolicy = .init(), logger: Logger,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, home: String? = nil, objects: (any ObjectStore)? = nil
    ) {
        self.home = home
        self.objects = objects
        self.root = root
        self.keys = keys
        self.policy = policy
        self.logger = logger
        self.now = clock
    }

    /// The store of an index, recovering it from disk the first time. A damaged index answers 503 with a
    /// message for the operator, and is logged once at `critical`. The pass is the caller's decision to
    /// reach this index's data (the catalog resolved the index within the pass's project).
    public func store(for definition: IndexDefinition, pass: AuthorizationPass) async throws -> IndexStore {
        let indexID = definition.id
        // Another server's index: with an index store, served here as a replica that refuses writes with this.
        let writeRefusal = definition.home.flatMap { owner in
            owner == home ? nil : ConiferError.failedPrecondition(
                "The index \(definition.name) is served by the server at \(owner), which holds its records; send its data-plane requests to the host describe_index gives."
            )
        }
        if let writeRefusal, objects == nil { throw writeRefusal }
        if corrupt.contains(indexID) { throw Self.refusal }
        if let refusal = refusals[indexID] {
            guard now() >= refusal.until else { throw refusal.error }
            refusals[indexID] = nil
        }
        if let opening = stores[indexID] {
            let store: IndexStore
            do {
                store = try await opening.value
            } catch let unavailable as KeyUnavailable {
                throw unavailable.error  // another caller's opening, which recorded the refusal
            }
            guard store.isStale else {
                try await renewKeyIfDue(indexID)
                return store
            }
            // Another writer's log object came first: open the index again from the object store.
            if stores[indexID] == opening {
                stores[indexID] = nil
                ready.withLock { $0[indexID] = nil }
            }
            return try await self.store(for: definition, pass: pass)
        }
        let directory = directory(of: indexID)
        let policy = self.policy
        let logger = self.logger
        let keys = self.keys
        let objects = self.objects.map { IndexObjects(store: $0, indexID: indexID) }
        let settings = EngineSettings(metric: definition.metric, encoding: definition.vectorEncoding) { dimension in
            MappedVectorRows.make(directory: directory, dimension: dimension, logger: logger)
        }
        let opening = Task {
            let (cipher, file) = try await Self.cipher(for: definition, directory: directory, keys: keys, objects: objects)
            let store: IndexStore
            do {
                store = try await IndexStore.open(
                    indexID: indexID, directory: directory, cipher: cipher, settings: settings, policy: policy, logger: logger, objects: objects,
                    writeRefusal: writeRefusal
                )
            } catch let damage as IndexCorruption where objects != nil {
                // The directory is only a cache of the bucket: fetch the index again whole; damage in the bucket itself
                // is refused as always.
                logger.warning(
                    "a cached index file failed its integrity check; fetching the index again from the index store",
                    metadata: ["index": "\(indexID)", "file": "\(damage.file)", "error": "\(damage.reason)"]
                )
                try IndexObjects.clearCache(in: directory)
                store = try await IndexStore.open(
                    indexID: indexID, directory: directory, cipher: cipher, settings: settings, policy: policy, logger: logger, objects: objects,
                    writeRefusal: writeRefusal
                )
            }
            return (store, file)
        }
        let entry = Task { try await opening.value.0 }
        stores[indexID] = entry
        do {
            let (store, file) = try await opening.value
            if let lifetime = keys.lifetime(of: file) {
                leases[indexID] = KeyLease(file: file, lifetime: lifetime, until: now() + lifetime)
            }
            // Unless the index was dropped while it opened.
            if stores[indexID] == entry {
                ready.withLock { $0[indexID] = ReadyStore(store: store, until: leases[indexID]?.until) }
            }
            return store
        } catch let unavailable as KeyUnavailable {
            stores[indexID] = nil
            refusals[indexID] = (unavailable.error, now() + unavailable.retryAfter)
            throw unavailable.error
        } catch let damage as IndexCorruption {
            stores[indexID] = nil
            if corrupt.insert(indexID).inserted {
                logger.critical(
                    "index files failed an integrity check; the index refuses service. Acknowledged writes after the damaged file exist only in the files set aside by a repair. Stop the server and run `conifer repair --data-dir <dir> --index \(indexID.uuidString.lowercased())` to accept the loss.",
                    metadata: ["index": "\(indexID)", "directory": "\(directory.path)", "file": "\(damage.file)", "error": "\(damage.reason)"]
                )
            }
            throw Self.refusal
        } catch {
            stores[indexID] = nil
            throw error
        }
    }

    /// The store of an index when it is open and its data key's lease has not ended, without waiting for this
    /// actor; nil when `store(for:pass:)` must be asked (it opens, renews or refuses). For a request that must
    /// not wait; the pass is the caller's decision to reach this index's data, as there.
    public nonisolated func readyStore(for definition: IndexDefinition, pass: AuthorizationPass) -> IndexStore? {
        guard let found = ready.withLock({ $0[definition.id] }), !found.store.isStale else { return nil }
        if let until = found.until, now() >= until { return nil }
        return found.store
    }

    static let refusal = ConiferError(
        .unavailable, "This index is unavailable: its stored data failed an integrity check. An operator must repair it; see the server log."
    )

    /// Unwraps the data key of an open index again once its lease has ended; on failure closes the store and
    /// refuses service (see the type's comment).
    private func renewKeyIfDue(_ indexID: UUID) async throws {
        guard let lease = leases[indexID], now() >= lease.until else { return }
        let renewal = lease.renewal ?? Task { [keys] in _ = try await keys.unwrap(lease.file) }
        leases[indexID]?.renewal = renewal
        do {
            try await renewal.value
            if leases[indexID]?.renewal == renewal {
                let until = now() + lease.lifetime
                leases[indexID]?.until = until
                leases[indexID]?.renewal = nil
                ready.withLock { $0[indexID]?.until = until }
            }
        } catch {
            let refusal = (error as? KeyUnavailable) ?? KeyUnavailable(
                ConiferError(.unavailable, "The data key of this index could not be unwrapped: \(error)"), retryAfter: lease.lifetime
            )
            if leases[indexID]?.renewal == renewal {
                leases[indexID] = nil
                ready.withLock { $0[indexID] = nil }
                refusals[indexID] = (refusal.error, now() + refusal.retryAfter)
                if let opening = stores.removeValue(forKey: indexID), let store = try? await opening.value {
                    await store.close()
                }
                logger.warning("an index's data key could not be unwrapped again; the index refuses service until it can", metadata: [
                    "index": "\(indexID)", "error": "\(refusal.error.message)",
                ])
            }
            throw refusal.error
        }
    }

    /// Renews every lease that has ended, so an idle index whose key was revoked is closed too (the
    /// compaction service's periodic work).
    public func renewKeys(pass: AuthorizationPass) async {
        guard pass == .system(.compaction) else { return }
        let due = leases.filter { now() >= $0.value.until }.keys
        for indexID in due {
            try? await renewKeyIfDue(indexID)
        }
    }

    /// The index's data key, unwrapped from its key file or made (and stored wrapped) for a new index, and
    /// the key file. With an object store, the stored key file is the one (copied into the directory).
    static func cipher(
        for definition: IndexDefinition, directory: URL, keys: any IndexKeyProvider, objects: IndexObjects? = nil
    ) async throws -> (FileCipher, IndexKeyFile) {
        try await objects?.syncKeyFile(into: directory)
        if let file = try IndexKeyFile.read(in: directory) {
            guard file.indexID == definition.id, file.projectID == definition.projectID else {
                throw IndexCorruption(file: IndexKeyFile.fileName, reason: "the key file belongs to index \(file.indexID) of project \(file.projectID)")
            }
            return (FileCipher(key: try await keys.unwrap(file)), file)
        }
        // A new index; a directory with files but no key has lost its key (or was never sealed): refused.
        let fileManager = FileManager.default
        let present = ["manifest", "wal", "segments"].flatMap { name -> [String] in
            let url = directory.appendingPathComponent(name)
            if name == "manifest" { return fileManager.fileExists(atPath: url.path) ? [name] : [] }
            return ((try? fileManager.contentsOfDirectory(atPath: url.path)) ?? []).filter { !$0.hasPrefix("tmp-") }
        }
        guard present.isEmpty else {
            throw IndexCorruption(file: IndexKeyFile.fileName, reason: "the index has files but no data key")
        }
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (key, file) = try await keys.newKey(for: definition)
        if let objects, try await !objects.createKeyFile(file.encoded()) {
            // Another node made the index's key first: that one is the index's.
            return try await cipher(for: definition, directory: directory, keys: keys, objects: objects)
        }
        try file.write(in: directory)
        try DurableFile.syncDirectory(directory.deletingLastPathComponent())
        return (FileCipher(key: key), file)
    }

    /// Stops serving an index at once, destroys its data key (so its files are unreadable from here on) and
    /// moves its files aside for the purge.
    /// `owner` names whose index it was, for the audit event of the permanent purge (nil for an index that was
    /// never visible, or when the caller's pass names the project).
    public func drop(indexID: UUID, pass: AuthorizationPass, owner: RetiredIndex.Owner? = nil) async throws {
        try pass.require(.indexesWrite)
        ready.withLock { $0[indexID] = nil }
        corrupt.remove(indexID)
        leases[indexID] = nil
        refusals[indexID] = nil
        if let opening = stores.removeValue(forKey: indexID), let store = try? await opening.value {
            await store.close()
        }
        let owner = owner ?? pass.caller.map { RetiredIndex.Owner(organizationID: $0.organizationID, projectID: $0.projectID, name: nil) }
        let stamp = RetiredIndex.Stamp(deletedAt: Int(Date().timeIntervalSince1970), owner: owner)
        try retire(indexID, stamp: stamp)
        guard let objects else { return }
        do {
            try await IndexObjects(store: objects, indexID: indexID).retire(stamp: Array(try JSONEncoder().encode(stamp)))
        } catch {
            // The index is gone from the catalog either way; its key stays in the bucket until an operator removes it.
            logger.error(
                "could not destroy a deleted index's key in the index store; remove indexes/<index>/key under the store's prefix",
                metadata: ["index": "\(indexID)", "error": "\(error)"]
            )
        }
    }

    /// Shreds the key, stamps the deletion time (and whose index it was), and moves the directory under `deleted/`.
    private func retire(_ indexID: UUID, stamp: RetiredIndex.Stamp) throws {
        let directory = directory(of: indexID)
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        try IndexKeyFile.shred(in: directory)
        try DurableFile.write(Array(try JSONEncoder().encode(stamp)), to: directory.appendingPathComponent(Self.deletedAtFile))
        let deleted = root.appendingPathComponent(Self.deletedFolder)
        try FileManager.default.createDirectory(at: deleted, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = deleted.appendingPathComponent(directory.lastPathComponent)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(at: directory, to: target)
        try DurableFile.syncDirectory(root)
        try DurableFile.syncDirectory(deleted)
    }

    static let deletedFolder = "deleted"
    static let deletedAtFile = "deleted-at"

    /// Permanently removes the files of indexes deleted at least `window` ago; returns their ids. A system
    /// task (the purge service's).
    @discardableResult
    public func purgeDeleted(olderThan window: Duration, now: Date = Date(), pass: AuthorizationPass) async -> [RetiredIndex] {
        guard pass == .system(.purge) else { return [] }
        var purged: [RetiredIndex] = []
        if let objects {
            do {
                purged = try await IndexObjects.purge(objects, olderThan: window, now: now)
            } catch {
                logger.error("could not purge deleted indexes' objects", metadata: ["error": "\(error)"])
            }
        }
        let deleted = root.appendingPathComponent(Self.deletedFolder)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: deleted.path)) ?? [] {
            let directory = deleted.appendingPathComponent(name)
            // A directory without a readable stamp was moved by a crash-interrupted retire: its key is gone already.
            let stamp = (try? Data(contentsOf: directory.appendingPathComponent(Self.deletedAtFile))).flatMap(RetiredIndex.Stamp.init(reading:))
            let deletedAt = stamp.map { Date(timeIntervalSince1970: Double($0.deletedAt)) } ?? .distantPast
            guard now.timeIntervalSince(deletedAt) >= Double(window.components.seconds) else { continue }
            do {
                try FileManager.default.removeItem(at: directory)
                if let id = UUID(uuidString: name), !purged.contains(where: { $0.id == id }) { purged.append(RetiredIndex(id: id, owner: stamp?.owner)) }
            } catch {
                logger.error("could not purge deleted index files", metadata: ["directory": "\(directory.path)", "error": "\(error)"])
            }
        }
        if !purged.isEmpty { logger.info("purged the files of deleted indexes", metadata: ["indexes": "\(purged.count)"]) }
        return purged
    }

    /// Seals every index under `root` written before encryption at rest: each is recovered as it is, then
    /// written again as one sealed segment under a new data key in a directory beside it, which replaces it
    /// by a rename. Safe to interrupt (run again at the next start). Returns the ids sealed.
    public static func sealUnsealedIndexes(root: URL, definitions: [IndexDefinition], keys: any IndexKeyProvider) async throws -> [UUID] {
        let fileManager = FileManager.default
        var sealed: [UUID] = []
        for definition in definitions {
            let name = definition.id.uuidString.lowercased()
            let directory = root.appendingPathComponent(name)
            let staging = root.appendingPathComponent(name + ".sealing")
            let old = root.appendingPathComponent(name + ".unsealed")
            // An earlier run stopped between its two renames, or before them.
            if fileManager.fileExists(atPath: old.path) {
                if fileManager.fileExists(atPath: directory.path) {
                    try fileManager.removeItem(at: old)
                } else {
                    try fileManager.moveItem(at: old, to: directory)
                }
            }
            if fileManager.fileExists(atPath: staging.path) { try fileManager.removeItem(at: staging) }
            guard fileManager.fileExists(atPath: directory.path), try IndexKeyFile.read(in: directory) == nil else { continue }
            let scan = try Recovery.scan(directory: directory, settings: EngineSettings(metric: definition.metric), cipher: .plaintext)
            if let damage = scan.damage { throw IndexCorruption(file: damage.file, reason: damage.reason) }
            for folder in [staging, staging.appendingPathComponent("wal"), staging.appendingPathComponent("segments")] {
                try fileManager.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let (key, file) = try await keys.newKey(for: definition)
            try file.write(in: staging)
            try SegmentFile.install(scan.state.view.frozen(), sequence: scan.sequence, directory: staging, cipher: FileCipher(key: key), folding: [])
            try DurableFile.syncDirectory(staging)
            try fileManager.moveItem(at: directory, to: old)
            try fileManager.moveItem(at: staging, to: directory)
            try DurableFile.syncDirectory(root)
            try fileManager.removeItem(at: old)
            sealed.append(definition.id)
        }
        return sealed
    }

    /// Retires directories of indexes the catalog no longer has (deleted while their files could not be
    /// moved aside): key destroyed, files left for the purge. A system task: no caller asks for it.
    public func retireOrphans(keeping known: Set<UUID>, pass: AuthorizationPass) {
        guard pass == .system(.purge) else { return }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return }
        for name in names {
            guard let id = UUID(uuidString: name), !known.contains(id) else { continue }
            do {
                try retire(id, stamp: RetiredIndex.Stamp(deletedAt: Int(Date().timeIntervalSince1970), owner: nil))
            } catch {
                logger.error("could not retire the files of a deleted index", metadata: ["index": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Compacts every open store whose log has grown past the policy (the compaction service's work).
    public func compactWhereNeeded(pass: AuthorizationPass) async {
        guard pass == .system(.compaction) else { return }
        for opening in stores.values {
            guard let store = try? await opening.value, await store.needsCompaction else { continue }
            do {
                try await store.compact()
            } catch {
                logger.error("compaction failed", metadata: ["index": "\(store.indexID)", "error": "\(error)"])
            }
        }
    }

    /// Bytes the index's files take on disk (what its directory holds).
    public func diskUsage(of indexID: UUID) -> Int {
        let enumerator = FileManager.default.enumerator(at: directory(of: indexID), includingPropertiesForKeys: [.fileAllocatedSizeKey, .fileSizeKey])
        var total = 0
        while let url = enumerator?.nextObject() as? URL {
            let values = try? url.resourceValues(forKeys: [.fileAllocatedSizeKey, .fileSizeKey])
            total += values?.fileAllocatedSize ?? values?.fileSize ?? 0
        }
        return total
    }

    private func directory(of indexID: UUID) -> URL {
        root.appendingPathComponent(indexID.uuidString.lowercased())
    }
}

/// An index whose files were purged for good, and whose it was (when its deletion recorded that).
public struct RetiredIndex: Sendable, Equatable {
    public struct Owner: Codable, Sendable, Equatable {
        public var organizationID: UUID
        public var projectID: UUID?
        public var name: String?

        public init(organizationID: UUID, projectID: UUID?, name: String?) {
            self.organizationID = organizationID
            self.projectID = projectID
            self.name = name
        }
    }

    public var id: UUID
    public var owner: Owner?

    /// The `deleted-at` file: the deletion time (Unix seconds) and the owner, as JSON; once just the seconds.
    struct Stamp: Codable {
        var deletedAt: Int
        var owner: Owner?

        init(deletedAt: Int, owner: Owner?) {
            self.deletedAt = deletedAt
            self.owner = owner
        }

        init?(reading data: Data) {
            if let stamp = try? JSONDecoder().decode(Stamp.self, from: data) {
                self = stamp
            } else if let seconds = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
                self.init(deletedAt: seconds, owner: nil)
            } else {
                return nil
            }
        }
    }
}
