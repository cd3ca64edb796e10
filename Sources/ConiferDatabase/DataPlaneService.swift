// ConiferDatabase — the services the edges call: the data plane through `IndexReader`, and index
// lifecycle (catalog and stores in one flow). Every entry point takes an authorization pass.
// Its allowed imports: docs/ARCHITECTURE.md.

import ConiferAccess
import ConiferCore
import ConiferIndex
import ConiferStorage
import Foundation

/// The vector data plane of every index: what upsert, query, fetch, update, delete, list, stats and the
/// namespace operations do, independent of any API dialect.
///
/// Every operation works on an `OpenIndex`, which only `open(_:_:)` makes from the request's authorization
/// pass after resolving the index inside the pass's project, so an index of another project answers exactly
/// like a missing one. Inputs are validated
/// completely before anything is written, and a batch is stored whole or not at all. Reads go through
/// `IndexReader`, never the in-memory representation.
public struct DataPlaneService: Sendable {
    let catalog: any Catalog
    let registry: StoreRegistry
    /// Where namespace scans run, off the request threads.
    let scans = ScanThreads()
    /// Requests and their time per index and operation, for the Prometheus series.
    let metrics: IndexMetrics
    /// Units per index and hour for the usage ledger, and per organization and month for the Starter plan's
    /// quotas; nil when metering is off (`conifer serve --metrics off`).
    let usage: UsageMeter?

    public init(catalog: any Catalog, registry: StoreRegistry, metrics: IndexMetrics = IndexMetrics(enabled: true), usage: UsageMeter? = nil) {
        self.catalog = catalog
        self.registry = registry
        self.metrics = metrics
        self.usage = usage
    }

    /// An index as the data-plane path names it.
    public struct IndexAddress: Sendable {
        public var projectID: String
        public var name: String

        public init(projectID: String, name: String) {
            self.projectID = projectID
            self.name = name
        }
    }

    /// An index resolved for one pass: only `open(_:_:)` makes one, so every operation on it was authorized
    /// and found inside the pass's project. Handlers open the index before they read the request body.
    public struct OpenIndex: Sendable {
        public let definition: IndexDefinition
        /// The plan of the index's organization, whose quotas apply.
        public let plan: Plan
        /// The operator's rate limits for the index's project, if any.
        public let rateLimits: String?
        let store: IndexStore
        let pass: AuthorizationPass

        func reader() throws -> any IndexReader { try store.reader(pass) }
        func write(_ request: WriteRequest) async throws -> WriteResult {
            try await store.write(request, pass: pass, namespaceLimit: plan.maxNamespacesPerIndex)
        }
    }

    /// The index the address names, if it belongs to the pass's project (another project's index answers
    /// exactly like a missing one) and its project allows the network the request came from (403 otherwise).
    public func open(_ pass: AuthorizationPass, _ address: IndexAddress, from origin: NetworkOrigin = .publicListener) async throws -> OpenIndex {
        guard let principal = pass.principal, Self.isHostSpelling(of: principal.projectID, address.projectID) else {
            throw ConiferError.indexNotFound(address.name)
        }
        let index = try await catalog.dataPlaneIndex(named: address.name, pass: pass)
        try index.network.check(origin, index: index.definition)
        guard index.definition.restoreJobID == nil else {
            throw ConiferError(.unavailable, "Index \(address.name) is being restored from a backup; it serves data once its restore job completes.")
        }
        return OpenIndex(
            definition: index.definition, plan: index.plan, rateLimits: index.rateLimits, store: try await registry.store(for: index.definition, pass: pass),
            pass: pass
        )
    }

    /// `open` when all it needs is at hand (the catalog's answer cached, the store open), without waiting; nil when
    /// it would wait, and nil for anything `open` refuses: the caller then asks `open`, which answers.
    public func openIfReady(_ pass: AuthorizationPass, _ address: IndexAddress, from origin: NetworkOrigin = .publicListener) -> OpenIndex? {
        guard let principal = pass.principal, Self.isHostSpelling(of: principal.projectID, address.projectID),
              let index = catalog.dataPlaneIndexIfCached(named: address.name, pass: pass),
              (try? index.network.check(origin, index: index.definition)) != nil, index.definition.restoreJobID == nil,
              let store = registry.readyStore(for: index.definition, pass: pass)
        else { return nil }
        return OpenIndex(definition: index.definition, plan: index.plan, rateLimits: index.rateLimits, store: store, pass: pass)
    }

    /// Whether a path's project id is the project's as its index host spells it (lowercase hex in 8-4-4-4-12
    /// groups), compared byte by byte: neither formatting the id nor parsing the path (`UUID(uuidString:)` is an
    /// `sscanf`) on every request.
    static func isHostSpelling(of project: UUID, _ text: String) -> Bool {
        withUnsafeBytes(of: project.uuid) { id in
            var at = text.utf8.makeIterator()
            for (index, byte) in id.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10, at.next() != UInt8(ascii: "-") { return false }
                guard at.next() == lowercaseHex(byte >> 4), at.next() == lowercaseHex(byte & 0x0F) else { return false }
            }
            return at.next() == nil
        }
    }

    private static func lowercaseHex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10 }

    /// A namespace as the client names it: absent and `__default__` both mean the default namespace.
    public struct NamespaceName: Sendable, Hashable {
        /// The name under which the store keeps it ("" for the default namespace).
        public let stored: String

        public init(_ requested: String?) throws(ConiferError) {
            let name = requested ?? ""
            stored = name == Self.defaultName ? "" : name
            try DataLimits.validateNamespace(stored)
        }

        init(stored: String) { self.stored = stored }

        /// The name clients see (`__default__` for the default namespace).
        public var display: String { stored.isEmpty ? Self.defaultName : stored }
        static let defaultName = "__default__"
    }

    /// One page of a sorted listing; `nextAfter` is the key the next page starts after.
    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        public var nextAfter: String?
        /// What reading it cost (the `usage` the response reports).
        public var readUnits: Double = 0
    }

    /// Fetched records and what reading them cost.
    public struct Fetched: Sendable {
        public var records: [VectorRecord]
        public var readUnits: Double
    }

    /// A scored record of a query's result.
    public struct Match: Sendable {
        public var record: VectorRecord
        public var score: Float
    }

    public struct Query: Sendable {
        public var namespace: NamespaceName
        public var topK: Int
        public var vector: [Float]?
        public var sparse: SparseVector?
        public var id: String?
        public var filter: MetadataFilter
        /// Whether the answer shows values or metadata: without, its matches' records hold only their ids.
        public var includesData: Bool

        public init(namespace: NamespaceName, topK: Int, vector: [Float]?, sparse: SparseVector?, id: String?, filter: MetadataFilter, includesData: Bool) {
            self.namespace = namespace
            self.topK = topK
            self.vector = vector
            self.sparse = sparse
            self.id = id
            self.filter = filter
            self.includesData = includesData
        }
    }

    public enum Update: Sendable {
        case byID(id: String, values: [Float]?, sparse: SparseVector?, setMetadata: Metadata?)
        case byFilter(MetadataFilter, setMetadata: Metadata, dryRun: Bool)
    }

    public enum Deletion: Sendable {
        case ids([String])
        case all
        case matching(MetadataFilter)
    }

    public struct Statistics: Sendable {
        public var definition: IndexDefinition
        /// Record count per namespace, by stored name ("" for the default namespace, as Pinecone reports it).
        public var namespaces: [String: Int]
    }

    // MARK: Vectors

    /// Stores the records (inserting or replacing by id); returns how many were written.
    public func upsert(_ index: OpenIndex, namespace: NamespaceName, records: [VectorRecord]) async throws -> Int {
        try await metered(.upsert, index, .write) { try await upsertRecords(index, namespace: namespace, records: records) }
    }

    private func upsertRecords(_ index: OpenIndex, namespace: NamespaceName, records: [VectorRecord]) async throws -> Int {
        let definition = index.definition
        guard (1...DataLimits.maxUpsertBatch).contains(records.count) else {
            throw ConiferError.invalidArgument("An upsert carries 1 to \(DataLimits.maxUpsertBatch) vectors, got \(records.count).")
        }
        for record in records { try definition.validate(record) }
        let written = try await index.write(.upsert(namespace: namespace.stored, records: records)).matchedRecords
        charge(index, write: Units.write(bytes: records.reduce(0) { $0 + Units.bytes(of: $1) }))
        return written
    }

    /// The best `topK` records for a vector, a sparse vector or a stored record's values, best first.
    public func query(_ index: OpenIndex, _ query: Query) async throws -> QueryAnswer {
        try await metered(.query, index, .read) {
            let plan = try plan(index, query)
            let metric = index.definition.metric
            if case .search(let namespace, let search, _) = plan, !namespace.searchIsQuick(search, metric: metric) {
                return answer(index, query, plan, found: await scans.run { namespace.search(search, metric: metric) })
            }
            return answer(index, query, plan)
        }
    }

    /// A query that needs no waiting (its search runs on the caller's thread), validated and checked against the
    /// plan's monthly units; nil when its search needs a scan thread (then `query` answers it). Throws what `query`
    /// would throw before searching. Nothing is charged or recorded until it is answered.
    public func quickQuery(_ index: OpenIndex, _ query: Query) throws -> QuickQuery? {
        let started = ContinuousClock.now
        try checkMonthlyUnits(index, .read)
        let plan = try plan(index, query)
        if case .search(let namespace, let search, _) = plan, !namespace.searchIsQuick(search, metric: index.definition.metric) { return nil }
        return QuickQuery(service: self, index: index, query: query, plan: plan, started: started)
    }

    /// A query `quickQuery` validated, to be answered on the caller's thread.
    public struct QuickQuery {
        let service: DataPlaneService
        let index: OpenIndex
        let query: Query
        let plan: QueryPlan
        let started: ContinuousClock.Instant

        /// Searches, charges the read units and records the query's time, as `query` does.
        public func answer() -> QueryAnswer {
            defer { service.metrics.record(.query, for: index.definition, since: started) }
            return service.answer(index, query, plan)
        }
    }

    /// A validated query: its answer known without searching (no such record or namespace), or its search.
    enum QueryPlan {
        case answered(QueryAnswer)
        case search(any NamespaceReader, SearchQuery, readUnits: Double)
    }

    private func plan(_ index: OpenIndex, _ query: Query) throws -> QueryPlan {
        let definition = index.definition
        guard (1...DataLimits.maxTopK).contains(query.topK) else {
            throw ConiferError.invalidArgument("topK must be between 1 and \(DataLimits.maxTopK), got \(query.topK).")
        }
        if query.includesData, query.topK > DataLimits.maxTopKWithData {
            throw ConiferError.invalidArgument(
                "topK must be at most \(DataLimits.maxTopKWithData) when includeValues or includeMetadata is true, got \(query.topK)."
            )
        }
        var vector = query.vector
        var sparse = query.sparse
        let reader = try index.reader()
        let namespace = reader.namespace(query.namespace.stored)
        if let id = query.id {
            guard vector == nil, sparse == nil else {
                throw ConiferError.invalidArgument("A query takes exactly one of vector, sparseVector or id.")
            }
            try DataLimits.validateID(id)
            guard let stored = namespace?.record(id) else { return .answered(QueryAnswer(matches: [], readUnits: Units.query(namespaceBytes: 0))) }
            vector = stored.values.isEmpty ? nil : stored.values
            sparse = definition.vectorType == .sparse ? stored.sparse : nil
        }
        switch definition.vectorType {
        case .dense:
            guard let values = vector else {
                throw ConiferError.invalidArgument("A query on a dense index needs a vector (or an id).")
            }
            try DataLimits.validateDense(values, dimension: definition.dimension ?? 0)
            if sparse != nil { try definition.requireSparseSupport() }
        case .sparse:
            guard vector == nil else { throw ConiferError.invalidArgument("A sparse index is queried with sparseVector, not vector.") }
            guard let sparse, !sparse.indices.isEmpty else {
                throw ConiferError.invalidArgument("A query on a sparse index needs a non-empty sparseVector (or an id).")
            }
        }
        guard let namespace else { return .answered(QueryAnswer(matches: [], readUnits: Units.query(namespaceBytes: 0))) }
        let readUnits = Units.query(namespaceBytes: Units.namespaceBytes(records: namespace.recordCount, dimension: definition.dimension))
        return .search(namespace, SearchQuery(vector: vector, sparse: sparse, topK: query.topK, filter: query.filter, ef: definition.efSearch), readUnits: readUnits)
    }

    /// The answer of a plan, its units charged: the search runs on this thread unless its results were `found`
    /// elsewhere. Values and metadata are read only when the answer includes them.
    private func answer(_ index: OpenIndex, _ query: Query, _ plan: QueryPlan, found: [ScoredID]? = nil) -> QueryAnswer {
        let answer: QueryAnswer
        switch plan {
        case .answered(let known):
            answer = known
        case .search(let namespace, let search, let readUnits):
            let results = found ?? namespace.search(search, metric: index.definition.metric)
            let matches = results.map {
                Match(record: query.includesData ? namespace.record(of: $0) : VectorRecord(id: namespace.id(of: $0), values: []), score: $0.score)
            }
            answer = QueryAnswer(matches: matches, readUnits: readUnits)
        }
        charge(index, read: answer.readUnits)
        return answer
    }

    /// A query's matches and the read units it used.
    public struct QueryAnswer: Sendable {
        public var matches: [Match]
        public var readUnits: Double
    }

    /// The records with these ids that exist.
    public func fetch(_ index: OpenIndex, namespace: NamespaceName, ids: [String]) async throws -> Fetched {
        try await metered(.fetch, index, .read) {
            guard (1...DataLimits.maxIDsPerRequest).contains(ids.count) else {
                throw ConiferError.invalidArgument("fetch takes 1 to \(DataLimits.maxIDsPerRequest) ids, got \(ids.count).")
            }
            for id in ids { try DataLimits.validateID(id) }
            let records = try index.reader().namespace(namespace.stored).map { reader in Set(ids).compactMap { reader.record($0) } } ?? []
            return Fetched(records: records, readUnits: charge(index, read: Units.fetch(records: records.count)))
        }
    }

    /// The records whose metadata matches a non-empty filter, a page at a time in id order.
    public func fetch(
        _ index: OpenIndex, namespace: NamespaceName, matching filter: MetadataFilter, limit: Int, after: String?
    ) async throws -> Page<VectorRecord> {
        try await metered(.fetch, index, .read) {
            guard !filter.isEmpty else { throw ConiferError.invalidArgument("A non-empty metadata filter is required.") }
            guard (1...DataLimits.maxFetchByMetadataLimit).contains(limit) else {
                throw ConiferError.invalidArgument("limit must be between 1 and \(DataLimits.maxFetchByMetadataLimit), got \(limit).")
            }
            guard let reader = try index.reader().namespace(namespace.stored) else {
                return Page(items: [], nextAfter: nil, readUnits: charge(index, read: Units.fetch(records: 0)))
            }
            let matching = await scans.run { reader.ids(matching: filter) }
            let page = Self.page(matching, after: after, limit: limit)
            let records = page.items.compactMap { reader.record($0) }
            return Page(items: records, nextAfter: page.nextAfter, readUnits: charge(index, read: Units.fetch(records: records.count)))
        }
    }

    /// Changes one record's values or metadata, or the metadata of every record matching a filter; returns
    /// the number of records matched by a filter (nil for an update by id).
    public func update(_ index: OpenIndex, namespace: NamespaceName, _ update: Update) async throws -> Int? {
        try await metered(.update, index, .write) { try await applyUpdate(index, namespace: namespace, update) }
    }

    private func applyUpdate(_ index: OpenIndex, namespace: NamespaceName, _ update: Update) async throws -> Int? {
        let definition = index.definition
        switch update {
        case .byFilter(let filter, let setMetadata, let dryRun):
            guard !filter.isEmpty else { throw ConiferError.invalidArgument("A non-empty metadata filter is required.") }
            let request = WriteRequest.updateByFilter(namespace: namespace.stored, filter: filter, setMetadata: setMetadata, dryRun: dryRun)
            let matched = try await index.write(request).matchedRecords
            if !dryRun {
                let recordBytes = 4 * (definition.dimension ?? 0) + setMetadata.byteSize
                charge(index, write: Units.write(bytes: 2 * matched * recordBytes))
            }
            return matched
        case .byID(let id, let values, let sparse, let setMetadata):
            try DataLimits.validateID(id)
            guard values != nil || sparse != nil || setMetadata != nil else {
                throw ConiferError.invalidArgument("An update needs values, sparseValues or setMetadata.")
            }
            if let values {
                guard definition.vectorType == .dense else { throw ConiferError.invalidArgument("A sparse index has no dense values to update.") }
                try DataLimits.validateDense(values, dimension: definition.dimension ?? 0)
            }
            if sparse != nil { try definition.requireSparseSupport() }
            if definition.vectorType == .sparse, let sparse, sparse.indices.isEmpty {
                throw ConiferError.invalidArgument("A sparse index needs non-empty sparse values.")
            }
            let request = WriteRequest.updateByID(namespace: namespace.stored, id: id, values: values, sparse: sparse, setMetadata: setMetadata)
            let before = try index.reader().namespace(namespace.stored)?.record(id)
            _ = try await index.write(request)
            let after = try index.reader().namespace(namespace.stored)?.record(id)
            charge(index, write: Units.write(bytes: (before.map(Units.bytes) ?? 0) + (after.map(Units.bytes) ?? 0)))
            return nil
        }
    }

    public func delete(_ index: OpenIndex, namespace: NamespaceName, _ deletion: Deletion) async throws {
        try await metered(.delete, index, .write) { try await applyDeletion(index, namespace: namespace, deletion) }
    }

    private func applyDeletion(_ index: OpenIndex, namespace: NamespaceName, _ deletion: Deletion) async throws {
        let request: WriteRequest
        // What the deletion removes, for its write units: the stored records' sizes when named by id, an
        // estimate at the index's dense record size otherwise (by filter: for the records the delete matched).
        let stored = try index.reader().namespace(namespace.stored)
        let estimate = 4 * (index.definition.dimension ?? 0)
        let deletedBytes: Int?
        switch deletion {
        case .ids(let ids):
            guard (1...DataLimits.maxIDsPerRequest).contains(ids.count) else {
                throw ConiferError.invalidArgument("A delete takes 1 to \(DataLimits.maxIDsPerRequest) ids, got \(ids.count).")
            }
            for id in ids { try DataLimits.validateID(id) }
            request = .deleteIDs(namespace: namespace.stored, ids: ids)
            deletedBytes = Set(ids).reduce(0) { $0 + (stored?.record($1).map(Units.bytes) ?? 0) }
        case .all:
            request = .deleteAll(namespace: namespace.stored)
            deletedBytes = (stored?.recordCount ?? 0) * estimate
        case .matching(let filter):
            guard !filter.isEmpty else { throw ConiferError.invalidArgument("A non-empty metadata filter is required.") }
            request = .deleteByFilter(namespace: namespace.stored, filter: filter)
            deletedBytes = nil
        }
        let result = try await index.write(request)
        charge(index, write: Units.write(bytes: deletedBytes ?? result.matchedRecords * estimate))
    }

    /// Ids starting with `prefix`, a page at a time in id order.
    public func list(
        _ index: OpenIndex, namespace: NamespaceName, prefix: String, limit: Int, after: String?
    ) async throws -> Page<String> {
        try await metered(nil, index, .read) {
            let ids = try index.reader().namespace(namespace.stored)?.ids(prefix: prefix) ?? []
            var page = Self.page(ids, after: after, limit: limit)
            page.readUnits = charge(index, read: Units.list)
            return page
        }
    }

    /// Record counts per namespace, of the records matching `filter` (all of them for an empty filter).
    public func statistics(_ index: OpenIndex, filter: MetadataFilter) async throws -> Statistics {
        let definition = index.definition
        let reader = try index.reader()
        var counts: [String: Int] = [:]
        for name in reader.namespaceNames {
            counts[name] = reader.namespace(name)?.count(matching: filter) ?? 0
        }
        return Statistics(definition: definition, namespaces: counts)
    }

    // MARK: Units

    /// What every metered operation does around its work: refuse it once the organization has used the month's
    /// units of `kind`, and record its time in the index's series (`operation`, when it has one).
    private func metered<T>(
        _ operation: IndexMetrics.Operation?, _ index: OpenIndex, _ kind: UnitKind, _ work: () async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        defer { if let operation { metrics.record(operation, for: index.definition, since: started) } }
        try checkMonthlyUnits(index, kind)
        let result = try await work()
        // The records a write leaves, for the index's history: the server's own count (no caller's data leaves it), so a
        // key that may write but not read is seen too.
        if kind == .write, metrics.enabled, let reader = try? index.store.reader(.system(.metrics)) {
            metrics.observe(records: Self.recordCount(reader), for: index.definition)
        }
        return result
    }

    /// An index's records, over all its namespaces.
    static func recordCount(_ reader: any IndexReader) -> Int {
        reader.namespaceNames.reduce(0) { $0 + (reader.namespace($1)?.recordCount ?? 0) }
    }

    /// Adds a request's units to the index's series and to the usage ledger; returns the read units.
    @discardableResult
    func charge(_ index: OpenIndex, read: Double = 0, write: Double = 0) -> Double {
        metrics.charge(read: read, write: write, for: index.definition)
        if let usage, let organization = index.pass.principal?.organizationID {
            usage.charge(read: read, write: write, on: index.definition, organization: organization)
        }
        return read
    }

    enum UnitKind: String {
        case read, write
    }

    /// Refuses a request once the organization has used its plan's read or write units for the month.
    func checkMonthlyUnits(_ index: OpenIndex, _ kind: UnitKind) throws(ConiferError) {
        guard let usage, let organization = index.pass.principal?.organizationID,
              let limit = kind == .read ? index.plan.monthlyReadUnits : index.plan.monthlyWriteUnits
        else { return }
        let used = usage.monthToDate(organization: organization)
        guard (kind == .read ? used.read : used.write) < limit else {
            throw ConiferError(
                .quotaExceeded,
                "The organization has used the \(Int(limit)) \(kind.rawValue) units a month of the \(index.plan.rawValue) plan; \(kind.rawValue)s resume on the first of next month (UTC) or after an upgrade of the plan."
            )
        }
    }

    // MARK: Metrics

    /// The index's Prometheus series in text format, with its record count and size on disk read now.
    public func metricsExposition(_ pass: AuthorizationPass, indexName: String) async throws -> [UInt8] {
        try pass.require(.indexesRead)
        let definition = try await catalog.index(named: indexName, pass: pass)
        let records = Self.recordCount(try await registry.store(for: definition, pass: pass).reader(pass.delegating(.metrics)))
        let bytes = await registry.diskUsage(of: definition.id)
        return metrics.exposition(for: definition, records: records, storageBytes: bytes)
    }

    // MARK: Namespaces

    /// Namespaces whose display name starts with `prefix` with their record counts, a page at a time; and
    /// how many there are in all.
    public func namespaces(
        _ index: OpenIndex, prefix: String, limit: Int, after: String?
    ) async throws -> (page: Page<(name: String, records: Int)>, total: Int) {
        let reader = try index.reader()
        var stored: [String: String] = [:]  // display name → stored name
        for name in reader.namespaceNames { stored[NamespaceName(stored: name).display] = name }
        let names = stored.keys.filter { $0.hasPrefix(prefix) }.sorted()
        let page = Self.page(names, after: after, limit: limit)
        let described = page.items.map { name in (name: name, records: stored[name].flatMap { reader.namespace($0)?.recordCount } ?? 0) }
        return (Page(items: described, nextAfter: page.nextAfter), names.count)
    }

    /// Creates an empty namespace that stays listed until deleted.
    public func createNamespace(_ index: OpenIndex, name: String) async throws {
        guard !name.isEmpty, name != NamespaceName.defaultName else {
            throw ConiferError.invalidArgument("A namespace name must be non-empty and must not be __default__.")
        }
        try DataLimits.validateNamespace(name)
        _ = try await index.write(.createNamespace(name))
    }

    /// The record count of a namespace; 404 when it does not exist.
    public func describeNamespace(_ index: OpenIndex, _ namespace: NamespaceName) async throws -> Int {
        guard let reader = try index.reader().namespace(namespace.stored) else {
            throw ConiferError.notFound("Namespace \(namespace.display) not found.")
        }
        return reader.recordCount
    }

    public func deleteNamespace(_ index: OpenIndex, _ namespace: NamespaceName) async throws {
        _ = try await index.write(.deleteNamespace(namespace.stored))
    }

    // MARK: Helpers

    /// One page of sorted keys after `after`, and the key the next page starts after if there is one.
    static func page(_ sortedKeys: [String], after: String?, limit: Int) -> Page<String> {
        var start = sortedKeys.startIndex
        if let after {
            start = sortedKeys.partitionPoint { $0 <= after }
        }
        let end = min(start + limit, sortedKeys.endIndex)
        let keys = Array(sortedKeys[start..<end])
        return Page(items: keys, nextAfter: end < sortedKeys.endIndex ? keys.last : nil)
    }
}
