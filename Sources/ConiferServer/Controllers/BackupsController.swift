import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import Hummingbird

/// Backups and restore jobs (`/indexes/{name}/backups`, `/backups`, `/restore-jobs`), with the control plane's
/// roles: managing them needs `indexesWrite`, reading them `indexesRead`. Same shapes in every API dialect,
/// except that creating a backup answers 201 before 2026-07 and 200 in it.
struct BackupsController {
    let backups: BackupService

    func register(in routes: RouteTable) {
        routes.add(.post, "/indexes/:index_name/backups", .indexesWrite, audit: .kind(.createBackup), handler: create)
        routes.add(.get, "/indexes/:index_name/backups", .indexesRead, handler: listOfIndex)
        routes.add(.get, "/backups", .indexesRead, handler: listOfProject)
        routes.add(.get, "/backups/:backup_id", .indexesRead, handler: describe)
        routes.add(.delete, "/backups/:backup_id", .indexesWrite, audit: .kind(.deleteBackup), handler: delete)
        routes.add(.post, "/backups/:backup_id/create-index", .indexesWrite, audit: .kind(.createIndex), handler: createIndex)
        routes.add(.get, "/restore-jobs", .indexesRead, handler: listJobs)
        routes.add(.get, "/restore-jobs/:job_id", .indexesRead, handler: describeJob)
    }

    @Sendable func create(_ call: AuthorizedCall) async throws -> Response {
        let body = try await call.decode(CreateBackupRequestWire.self, allowedKeys: CreateBackupRequestWire.fields)
        let backup = try await createBackup(of: try call.parameter("index_name"), name: body.name, description: body.description, call.context, call.pass)
        return try WireJSON.response(status: call.version == .v2026_07 ? .ok : .created, BackupWire(backup, call.version))
    }

    /// Backs up an index, named in the call's audit event (this route and the console's form).
    func createBackup(
        of index: String, name: String?, description: String?, _ context: ConiferRequestContext, _ pass: AuthorizationPass
    ) async throws -> BackupRecord {
        if let name { context.audit(id: .string(name), name: name, ["index_name": .string(index)]) }
        let backup = try await backups.create(pass, indexName: index, name: name, description: description)
        context.audit(id: .string(backup.name), name: backup.name, ["index_name": .string(index), "backup_id": .string(backup.id.lowercasedString)])
        return backup
    }

    @Sendable func listOfIndex(_ call: AuthorizedCall) async throws -> Response {
        try call.page(try await backups.list(call.pass, indexName: try call.parameter("index_name")).map { BackupWire($0, call.version) })
    }

    @Sendable func listOfProject(_ call: AuthorizedCall) async throws -> Response {
        try call.page(try await backups.list(call.pass, indexName: nil).map { BackupWire($0, call.version) })
    }

    @Sendable func describe(_ call: AuthorizedCall) async throws -> Response {
        try WireJSON.response(status: .ok, BackupWire(try await backups.describe(call.pass, id: try backupID(call)), call.version))
    }

    @Sendable func delete(_ call: AuthorizedCall) async throws -> Response {
        try await deleteBackup(try backupID(call), call.context, call.pass)
        return WireJSON.empty(status: .accepted)
    }

    /// Deletes a backup, named in the call's audit event.
    func deleteBackup(_ id: UUID, _ context: ConiferRequestContext, _ pass: AuthorizationPass) async throws {
        context.audit(id: .string(id.lowercasedString))
        let deleted = try await backups.delete(pass, id: id)
        context.audit(id: .string(deleted.name), name: deleted.name, ["backup_id": .string(id.lowercasedString)])
    }

    @Sendable func createIndex(_ call: AuthorizedCall) async throws -> Response {
        let body = try await call.decode(CreateIndexFromBackupRequestWire.self, allowedKeys: CreateIndexFromBackupRequestWire.fields)
        let job = try await restore(try backupID(call), body, call.context, call.pass)
        return try WireJSON.response(status: .accepted, ["restore_job_id": job.id.lowercasedString, "index_id": job.targetIndexID.lowercasedString])
    }

    /// Starts a restore job (a new index from the backup), named in the call's audit event.
    func restore(_ backup: UUID, _ body: CreateIndexFromBackupRequestWire, _ context: ConiferRequestContext, _ pass: AuthorizationPass) async throws -> RestoreJob {
        context.audit(id: .string(body.name), name: body.name)
        if let tags = body.tags { try IndexRules.validateTags(tags) }
        return try await backups.restore(
            pass, backupID: backup, name: body.name, tags: body.tags,
            deletionProtection: try WireEnum.parse(body.deletion_protection, field: "deletion_protection", as: DeletionProtection.self)
        )
    }

    @Sendable func listJobs(_ call: AuthorizedCall) async throws -> Response {
        try call.page(try await backups.jobs(call.pass).map(RestoreJobWire.init))
    }

    @Sendable func describeJob(_ call: AuthorizedCall) async throws -> Response {
        let id = try call.uuid("job_id", notFound: "Restore job")
        return try WireJSON.response(status: .ok, RestoreJobWire(try await backups.job(call.pass, id: id)))
    }

    private func backupID(_ call: AuthorizedCall) throws -> UUID { try call.uuid("backup_id", notFound: "Backup") }
}

extension AuthorizedCall {
    /// One page of `items` (`limit` 1–100, default 10; `paginationToken` is where the page starts).
    func page<Item: Encodable>(_ items: [Item]) throws -> Response {
        let query = request.uri.queryParameters
        let limit = try query["limit"].map { text throws(ConiferError) -> Int in
            guard let value = Int(text), (1...100).contains(value) else { throw .invalidArgument("limit must be between 1 and 100.") }
            return value
        } ?? 10
        let start = try query["paginationToken"].map { text throws(ConiferError) -> Int in
            guard let data = Data(base64Encoded: String(text)), let value = Int(String(decoding: data, as: UTF8.self)), value >= 0 else {
                throw .invalidArgument("paginationToken is not one this server gave.")
            }
            return value
        } ?? 0
        let end = min(start + limit, items.count)
        let next = end < items.count ? Data(String(end).utf8).base64EncodedString() : nil
        return try WireJSON.response(status: .ok, PagedListWire(data: start < items.count ? Array(items[start..<end]) : [], pagination: next.map { .init(next: $0) }))
    }
}

struct CreateBackupRequestWire: Decodable {
    static let fields: Set<String> = ["name", "description"]
    var name: String?
    var description: String?
}

struct CreateIndexFromBackupRequestWire: Decodable {
    static let fields: Set<String> = ["name", "tags", "deletion_protection", "read_capacity"]
    var name: String
    var tags: [String: String]?
    var deletion_protection: String?
}

struct PagedListWire<Item: Encodable>: Encodable {
    struct Pagination: Encodable { var next: String }
    var data: [Item]
    var pagination: Pagination?
}

/// `BackupModel`: the source index's shape as `dimension` and `metric` before API 2026-07, as its `schema` in it
/// (SDK 10's `backup.dense_dimension` reads the schema). Schedule histories (2026-07) add `scheduled_execution_at`.
struct BackupWire: Encodable {
    var backup_id: String
    var source_index_name: String
    var source_index_id: String
    var status = "Ready"
    var cloud: String
    var region: String
    var name: String
    var description: String?
    var dimension: Int?
    var metric: String?
    var schema: IndexSchemaWire?
    var record_count: Int
    var namespace_count: Int
    var size_bytes: Int
    var tags: [String: String]?
    var created_at: Date
    var scheduled_execution_at: Date?

    init(_ backup: BackupRecord, _ version: APIVersion) {
        backup_id = backup.id.lowercasedString
        source_index_name = backup.source.name
        source_index_id = backup.source.id.lowercasedString
        if case .serverless(let cloud, _) = backup.source.deployment { self.cloud = cloud } else { cloud = "aws" }
        region = backup.source.region
        name = backup.name
        description = backup.description
        if version == .v2026_07 {
            schema = IndexSchemaWire(backup.source)
        } else {
            dimension = backup.source.dimension
            metric = backup.source.metric.rawValue
        }
        record_count = backup.recordCount
        namespace_count = backup.namespaceCount
        size_bytes = backup.sizeBytes
        tags = backup.source.tags.isEmpty ? nil : backup.source.tags
        created_at = backup.createdAt
    }
}

/// `RestoreJobModel`.
struct RestoreJobWire: Encodable {
    var restore_job_id: String
    var backup_id: String
    var target_index_name: String
    var target_index_id: String
    var status: String
    var created_at: Date
    var completed_at: Date?
    var percent_complete: Double
    /// Conifer's: why a failed job failed.
    var error: String?

    init(_ job: RestoreJob) {
        restore_job_id = job.id.lowercasedString
        backup_id = job.backupID.lowercasedString
        target_index_name = job.targetIndexName
        target_index_id = job.targetIndexID.lowercasedString
        status = job.status.rawValue
        created_at = job.createdAt
        completed_at = job.completedAt
        percent_complete = job.percentComplete
        error = job.error
    }
}
