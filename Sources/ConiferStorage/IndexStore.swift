// ConiferStorage — durable per-index stores: write log with group commit, segments, manifest, recovery,
// compaction, repair, and the registry of open stores. Every entry point takes an authorization pass.
// Its allowed imports: docs/ARCHITECTURE.md.

import ConiferCore
import ConiferIndex
import Foundation
import Logging
import Synchronization

/// The durable store of one index (ARCHITECTURE.md §4).
///
/// Writes are grouped: while one group is being made durable, new writes queue and form the next group.
/// Each group is resolved against the committed state (plus the earlier writes of the group), written to
/// the log as one file (fsynced, renamed, directory fsynced), applied to memory, and only then
/// acknowledged. Readers never wait for the actor: they take the state published after the last applied
/// group, so they see every acknowledged write. Graphs are built behind the writes by a `GraphBuilder`.
public actor IndexStore {
    public nonisolated let indexID: UUID
    let directory: URL
    let log: WriteLog
    let cipher: FileCipher
    let policy: CompactionPolicy
    let logger: Logger
    /// Where the index's files are kept beyond this directory (`--index-store`), which then is a cache.
    let objects: IndexObjects?
    /// For a replica of an index another server writes: why this one refuses writes. A replica follows the
    /// writer's log objects (`catchUp`) and never compacts.
    let writeRefusal: ConiferError?
    private var following: Task<Void, Never>?

    /// The writer's state.
    private var state: IndexState
    /// What readers get: the state as of the last applied group, or nil once the index is closed.
    private nonisolated let published: PublishedView
    private nonisolated let builder: GraphBuilder
    private var lastSequence: UInt64
    /// Log files not yet folded into a segment, with their sizes.
    private var unfoldedLogs: [(sequence: UInt64, bytes: Int)]
    /// Since when the oldest unfolded log file has been waiting (since opening, for recovered ones).
    private var unfoldedSince: ContinuousClock.Instant?
    private var pending: [(request: WriteRequest, namespaceLimit: Int, continuation: CheckedContinuation<WriteResult, any Error>)] = []
    private var flushing = false
    private var compacting = false
    /// A namespace was deleted since the last compaction: its records still sit in log files until then.
    private var deletedDataPending = false
    /// Graph nodes (about) the newest segment holds: what recovery loaded, then what compaction saved.
    private var graphNodesSaved: Int
    private var closed = false

    private init(
        indexID: UUID, directory: URL, cipher: FileCipher, policy: CompactionPolicy, logger: Logger, objects: IndexObjects?,
        writeRefusal: ConiferError?, recovered: Recovery.Result
    ) {
        self.indexID = indexID
        self.objects = objects
        self.writeRefusal = writeRefusal
        self.directory = directory
        self.cipher = cipher
        self.log = WriteLog(directory: directory.appendingPathComponent("wal"), cipher: cipher)
        self.policy = policy
        self.logger = logger
        self.state = recovered.state
        self.lastSequence = recovered.lastSequence
        self.unfoldedLogs = recovered.unfoldedLogs
        self.unfoldedSince = recovered.unfoldedLogs.isEmpty ? nil : .now
        self.graphNodesSaved = recovered.state.view.graphNodeCount
        let published = PublishedView(recovered.state.view)
        self.published = published
        self.builder = GraphBuilder { published.current }
        builder.wake()
    }

    /// Opens the store in `directory`, creating it if needed and recovering whatever is there. Its files are
    /// sealed by `cipher` (the index's data key). With `objects`, the directory is first made to hold what the
    /// object store holds, and every write and compaction is kept there too.
    /// With `writeRefusal`, a replica: it takes no writes (they are refused with that error) and follows the
    /// objects instead, every `followEvery`.
    static func open(
        indexID: UUID, directory: URL, cipher: FileCipher, settings: EngineSettings = .init(), policy: CompactionPolicy = .init(), logger: Logger,
        objects: IndexObjects?, writeRefusal: ConiferError? = nil, followEvery interval: Duration = .milliseconds(200)
    ) async throws -> IndexStore {
        try await objects?.pull(into: directory, cipher: cipher)
        let recovered = try await Recovery.run(directory: directory, settings: settings, cipher: cipher)
        let store = IndexStore(
            indexID: indexID, directory: directory, cipher: cipher, policy: policy, logger: logger, objects: objects, writeRefusal: writeRefusal,
            recovered: recovered
        )
        if writeRefusal != nil, objects != nil { await store.follow(every: interval) }
        return store
    }

    /// Opens the store in `directory` alone (no object store).
    public static func open(
        indexID: UUID, directory: URL, cipher: FileCipher, settings: EngineSettings = .init(), policy: CompactionPolicy = .init(), logger: Logger
    ) async throws -> IndexStore {
        try await open(indexID: indexID, directory: directory, cipher: cipher, settings: settings, policy: policy, logger: logger, objects: nil)
    }

    /// The object store held a write-log object this store was about to create: another writer (or an attempt
    /// of its own that seemed to fail) got there first, so its state is not the index's. It takes no more
    /// reads or writes; the registry opens the index again from the objects.
    public nonisolated var isStale: Bool { published.isStale }

    // MARK: Reads

    /// A reader over the committed state: every acknowledged write, nothing unacknowledged.
    public nonisolated func reader(_ pass: AuthorizationPass) throws(ConiferError) -> any IndexReader {
        try pass.require(.dataRead)
        return try snapshot()
    }

    /// The committed state itself, for this module and its tests.
    nonisolated func snapshot() throws(ConiferError) -> IndexView {
        guard let view = published.current else {
            if published.isStale { throw Self.staleError }
            throw ConiferError.notFound("Index not found.")
        }
        return view
    }

    /// Why a closed store refuses: deleted, or stale.
    private var closedError: ConiferError { published.isStale ? Self.staleError : ConiferError.notFound("Index not found.") }

    static let staleError = ConiferError(.unavailable, "The index is being reloaded from the object store; retry the request.")

    /// Waits until every namespace's graph holds every record written so far (for tests and benchmarks).
    public nonisolated func graphsBuilt() async {
        while let view = published.current, view.unindexedCount > 0 {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: Writes

    /// Resolves, logs durably and applies a write; returns once it is acknowledged. A write that would make a
    /// namespace when the index already has `namespaceLimit` of them is refused (403 QUOTA_EXCEEDED): checked
    /// as the write is resolved, so concurrent writes cannot pass it together.
    public func write(_ request: WriteRequest, pass: AuthorizationPass, namespaceLimit: Int = .max) async throws -> WriteResult {
        try pass.require(.dataWrite)
        if let writeRefusal { throw writeRefusal }
        guard !closed else { throw closedError }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append((request, namespaceLimit, continuation))
            if !flushing {
                flushing = true
                Task { await self.flushPending() }
            }
        }
    }

    private func flushPending() async {
        while !pending.isEmpty {
            let group = pending
            pending = []
            var changes = PendingChanges()
            var operations: [WriteOperation] = []
            var outcomes: [Result<WriteResult, any Error>] = []
            for entry in group {
                do {
                    let (resolved, result) = try resolve(entry.request, changes: &changes, base: state.view)
                    try Self.checkNamespaceLimit(entry.namespaceLimit, resolved, changes: changes, base: state.view)
                    for operation in resolved { changes.note(operation) }
                    operations += resolved
                    outcomes.append(.success(result))
                } catch {
                    outcomes.append(.failure(error))
                }
            }
            if closed {
                // Deleted (or stale) while these waited: nothing may be written into a directory being removed.
                outcomes = outcomes.map { outcome in outcome.flatMap { _ in .failure(closedError) } }
            } else if !operations.isEmpty {
                let sequence = lastSequence + 1
                do {
                    let bytes = try await Self.appendToLog(log, sequence: sequence, operations: operations)
                    try await objects?.appendLog(sequence, from: log)
                    // Durable: apply before anything else can run on this actor, then acknowledge.
                    lastSequence = sequence
                    state.apply(operations)
                    published.current = state.view
                    builder.wake()
                    unfoldedLogs.append((sequence, bytes))
                    unfoldedSince = unfoldedSince ?? .now
                    if operations.contains(where: { if case .deleteNamespace = $0 { true } else { false } }) {
                        deletedDataPending = true
                    }
                } catch let conflict as ObjectStoreConflict {
                    logger.error("another writer holds the index; reloading it", metadata: ["index": "\(indexID)", "error": "\(conflict)"])
                    closed = true
                    following?.cancel()
                    published.markStale()
                    outcomes = outcomes.map { outcome in outcome.flatMap { _ in .failure(Self.staleError) } }
                } catch {
                    logger.error("write log append failed", metadata: ["index": "\(indexID)", "error": "\(error)"])
                    let failure = (error as? ConiferError) ?? ConiferError(objects == nil ? .internalError : .unavailable, "write log append failed: \(error)")
                    outcomes = outcomes.map { outcome in outcome.flatMap { _ in .failure(failure) } }
                }
            }
            for (entry, outcome) in zip(group, outcomes) {
                entry.continuation.resume(with: outcome)
            }
        }
        flushing = false
    }

    @concurrent
    private static func appendToLog(_ log: WriteLog, sequence: UInt64, operations: [WriteOperation]) async throws -> Int {
        try log.append(sequence: sequence, operations: operations)
    }

    /// Refuses operations that would bring a namespace into being when the index already has `limit`.
    private static func checkNamespaceLimit(_ limit: Int, _ operations: [WriteOperation], changes: PendingChanges, base: IndexView) throws {
        // Far from the limit (every namespace the group touched, and each of these operations, new): nothing to check.
        guard base.namespaceCount + changes.namespacesTouched + operations.count >= limit else { return }
        for operation in operations {
            let namespace: String
            switch operation {
            case .upsert(let name, _), .createNamespace(let name): namespace = name
            case .delete, .deleteNamespace: continue
            }
            guard !changes.namespaceExists(namespace, base: base) else { continue }
            guard changes.namespaceCount(base: base) < limit else {
                throw ConiferError(
                    .quotaExceeded,
                    "The index has reached its quota of \(limit) namespaces; delete a namespace, write into an existing one or upgrade the plan."
                )
            }
        }
    }

    /// Turns a request into log operations, checking it against the state the group has built so far.
    private func resolve(_ request: WriteRequest, changes: inout PendingChanges, base: IndexView) throws -> ([WriteOperation], WriteResult) {
        switch request {
        case .upsert(let namespace, let records):
            return ([.upsert(namespace: namespace, records: records)], WriteResult(matchedRecords: records.count))
        case .deleteIDs(let namespace, let ids):
            return ([.delete(namespace: namespace, ids: ids)], WriteResult(matchedRecords: ids.count))
        case .deleteAll(let namespace):
            let explicit = changes.isExplicit(namespace, base: base)
            return (explicit ? [.deleteNamespace(namespace), .createNamespace(namespace)] : [.deleteNamespace(namespace)], WriteResult(matchedRecords: 0))
        case .deleteByFilter(let namespace, let filter):
            let ids = changes.matching(namespace: namespace, filter: filter, base: base).map(\.id)
            return (ids.isEmpty ? [] : [.delete(namespace: namespace, ids: ids)], WriteResult(matchedRecords: ids.count))
        case .updateByID(let namespace, let id, let values, let sparse, let setMetadata):
            guard var record = changes.record(namespace: namespace, id: id, base: base) else {
                throw ConiferError.notFound("Vector with ID '\(id)' not found in namespace '\(namespace)'.")
            }
            if let values { record.values = values }
            if let sparse { record.sparse = sparse }
            if let setMetadata {
                record.metadata.merge(setMetadata) { _, new in new }
                try record.metadata.validateSize()
            }
            return ([.upsert(namespace: namespace, records: [record])], WriteResult(matchedRecords: 1))
        case .updateByFilter(let namespace, let filter, let setMetadata, let dryRun):
            var records = changes.matching(namespace: namespace, filter: filter, base: base)
            guard !dryRun, !records.isEmpty else { return ([], WriteResult(matchedRecords: records.count)) }
            for i in records.indices {
                records[i].metadata.merge(setMetadata) { _, new in new }
                // One record over the limit rejects the whole update: nothing is written.
                try records[i].metadata.validateSize()
            }
            return ([.upsert(namespace: namespace, records: records)], WriteResult(matchedRecords: records.count))
        case .createNamespace(let namespace):
            guard !changes.namespaceExists(namespace, base: base) else {
                throw ConiferError.alreadyExists("Namespace \(namespace) already exists.")
            }
            return ([.createNamespace(namespace)], WriteResult(matchedRecords: 0))
        case .deleteNamespace(let namespace):
            guard changes.namespaceExists(namespace, base: base) else {
                throw ConiferError.notFound("Namespace \(namespace) not found.")
            }
            return ([.deleteNamespace(namespace)], WriteResult(matchedRecords: 0))
        }
    }

    // MARK: Compaction

    /// Whether the log has grown past the policy, deleted data should leave the disk soon (a deleted
    /// namespace, or a write older than the purge window, which may have deleted or overwritten records), or
    /// the graphs have caught up with a large load that the last segment does not hold.
    var needsCompaction: Bool {
        guard !closed, !compacting, writeRefusal == nil else { return false }
        if !unfoldedLogs.isEmpty,
            deletedDataPending || unfoldedLogs.count >= policy.maxLogFiles || unfoldedLogs.reduce(0, { $0 + $1.bytes }) >= policy.maxLogBytes
                || unfoldedSince.map({ $0.duration(to: .now) >= policy.purgeAfter }) == true
        {
            return true
        }
        // Also when the log is already folded: a segment written mid-build holds only part of the graph.
        let view = state.view
        return view.unindexedCount == 0 && view.graphNodeCount - graphNodesSaved >= policy.graphCheckpoint
    }

    /// Folds the write log into a new segment: writes the segment, replaces the manifest, then removes the
    /// folded log files and the previous segment. Writes go on meanwhile.
    ///
    /// Overwritten and deleted records keep their slots in memory until here: when they are many, the
    /// namespaces are rebuilt from the segment's images (live records, repaired graphs) and the writes
    /// acknowledged during the compaction are replayed from their log files before the rebuilt state
    /// replaces the old one. Readers holding the old state keep it until they finish.
    public func compact() async throws {
        guard !compacting, !closed, writeRefusal == nil, !unfoldedLogs.isEmpty || state.view.graphNodeCount != graphNodesSaved else { return }
        compacting = true
        defer { compacting = false }
        let snapshot = state.view.frozen()
        let graphNodes = state.view.graphNodeCount
        let sequence = lastSequence
        let folded = unfoldedLogs.filter { $0.sequence <= sequence }.map(\.sequence)
        let purging = deletedDataPending
        deletedDataPending = false
        let reclaim = snapshot.removedSlotCount >= max(policy.reclaimSlots, snapshot.slotCount / 4)
        let rebuilt: IndexState?
        do {
            rebuilt = try await Self.writeSegment(
                snapshot, sequence: sequence, directory: directory, cipher: cipher, folded: folded, rebuilding: reclaim ? state.settings : nil
            )
            try await objects?.publish(segment: SegmentFile.fileName(sequence), folded: folded, directory: directory)
        } catch {
            deletedDataPending = deletedDataPending || purging
            throw error
        }
        unfoldedLogs.removeAll { $0.sequence <= sequence }
        unfoldedSince = unfoldedLogs.isEmpty ? nil : .now
        graphNodesSaved = graphNodes
        if var rebuilt, !closed {
            do {
                for later in unfoldedLogs.map(\.sequence) {
                    rebuilt.apply(try log.read(later).operations)
                }
                state = rebuilt
                published.current = state.view
                graphNodesSaved = state.view.graphNodeCount
                builder.wake()
            } catch {
                // Keep the state that holds every write; the memory waits for the next compaction.
                logger.error("could not rebuild the index in memory", metadata: ["index": "\(indexID)", "error": "\(error)"])
            }
        }
        logger.debug("compacted", metadata: ["index": "\(indexID)", "sequence": "\(sequence)", "folded": "\(folded.count)", "rebuilt": "\(reclaim)"])
    }

    /// Writes the segment; with `settings`, also returns the index rebuilt from what was written.
    @concurrent
    private static func writeSegment(
        _ snapshot: IndexSnapshot, sequence: UInt64, directory: URL, cipher: FileCipher, folded: [UInt64], rebuilding settings: EngineSettings?
    ) async throws -> IndexState? {
        var state = settings.map { IndexState(settings: $0) }
        // Each namespace is rebuilt from its image as soon as it is written, so only one image exists at a time.
        try SegmentFile.install(snapshot, sequence: sequence, directory: directory, cipher: cipher, folding: folded) { name, image in
            state?.restore(name, from: image)
        }
        return state
    }

    // MARK: Following (a replica)

    private func follow(every interval: Duration) {
        following = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                do {
                    try await self.catchUp()
                } catch {
                    self.logger.warning("a replica could not follow the index store", metadata: ["index": "\(self.indexID)", "error": "\(error)"])
                }
            }
        }
    }

    /// Applies the log objects the writer has added since the last look, in order. When the next one is gone,
    /// folded into a segment by the writer's compaction (which uploads the segment before it removes log
    /// objects), the replica loads the index again from the objects.
    func catchUp() async throws {
        guard !closed, let objects else { return }
        let listing = try await objects.listing()
        let stored = listing.logs.filter { $0 > lastSequence }
        guard stored.first == lastSequence + 1 else {
            if let segment = listing.newestSegment, segment > lastSequence { try await reload() }
            return
        }
        for sequence in stored {
            guard !closed, sequence == lastSequence + 1 else { return }
            guard try await objects.fetchLog(sequence, into: log) else { return try await reload() }
            state.apply(try log.read(sequence).operations)
            lastSequence = sequence
            published.current = state.view
            builder.wake()
        }
    }

    private func reload() async throws {
        guard let objects else { return }
        try await objects.pull(into: directory, cipher: cipher)
        let recovered = try await Recovery.run(directory: directory, settings: state.settings, cipher: cipher)
        guard !closed, recovered.lastSequence > lastSequence else { return }
        state = recovered.state
        lastSequence = recovered.lastSequence
        unfoldedLogs = recovered.unfoldedLogs
        published.current = state.view
        builder.wake()
    }

    // MARK: Lifecycle

    /// Stops serving: later reads and writes answer "not found" (the index was deleted).
    public func close() {
        closed = true
        following?.cancel()
        published.current = nil
    }
}

/// The view readers get, behind a lock of its own so they never wait for the actor.
private final class PublishedView: Sendable {
    private let view: Mutex<(current: IndexView?, stale: Bool)>

    init(_ view: IndexView) {
        self.view = Mutex((view, false))
    }

    var current: IndexView? {
        get { view.withLock { $0.current } }
        set { view.withLock { $0.current = newValue } }
    }

    var isStale: Bool { view.withLock { $0.stale } }

    /// No view from now on, and `isStale` says why.
    func markStale() {
        view.withLock { $0 = (nil, true) }
    }
}
