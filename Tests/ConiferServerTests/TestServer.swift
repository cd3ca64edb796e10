@testable import ConiferAccess
import ConiferAudit
import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import ConiferServer

/// Runs a real Conifer server on a random loopback port with its own temporary data directory.
enum TestServer {
    static let bootstrapKey = "pcsk_testboot_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    static let clientID = "test-owner"
    static let clientSecret = "test-owner-secret-0123456789abcdef"

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("conifer-test-\(UUID().uuidString)")
    }

    /// Starts a server on `directory` (a fresh one when nil), runs `body` against it, then stops it.
    static func run(
        directory: URL? = nil,
        catalog: TestCatalog = .sqlite,
        bootstrapKey: String? = TestServer.bootstrapKey,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        observer: any ActionObserver = NoActionObserver(),
        auditUploader: any AuditUploader = MemoryAuditUploader(),
        _ body: @Sendable (ConiferApplication, any TestClientProtocol) async throws -> Void
    ) async throws {
        let ownsDirectory = directory == nil
        let directory = directory ?? temporaryDirectory()
        defer { if ownsDirectory { try? FileManager.default.removeItem(at: directory) } }
        // Without rate limits unless a test sets them (RateLimitTests): the matrix and others send bursts.
        var configuration = ServerConfiguration(
            dataDirectory: directory, host: "127.0.0.1", port: 0, bootstrapAPIKey: bootstrapKey,
            bootstrapClientID: clientID, bootstrapClientSecret: clientSecret, rateLimits: RateLimits(perSecond: [:])
        )
        // The test client holds one connection and never reconnects, so the server must not close it as idle
        // while a test works for a while between requests (seeding hundreds of rows on a loaded machine).
        configuration.connections.idleTimeout = .seconds(3600)
        if catalog == .postgres {
            configuration.catalog = try await PostgresTestDatabase.fresh()
            configuration.masterKey = .environment(PostgresTestDatabase.master.encoded)
            configuration.advertiseURL = "http://localhost:1"  // a server on a shared catalog names its indexes' home
        }
        configure(&configuration)
        let server = try await ConiferApplication(configuration: configuration, observer: observer, auditUploader: auditUploader)
        var logger = Logger(label: "conifer-test")
        logger.logLevel = .warning
        let app = try server.makeApplication(logger: logger)
        try await app.test(.live) { client in try await body(server, client) }
    }
}

/// The catalog a test server keeps: SQLite in its data directory, or a database of its own on the tests' PostgreSQL
/// (`PostgresTestDatabase`) when there is one.
enum TestCatalog: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static let available: [TestCatalog] = PostgresTestDatabase.enabled ? [.sqlite, .postgres] : [.sqlite]
    /// The permission matrix's: SQLite, and PostgreSQL when asked (`CONIFER_MATRIX_ON_POSTGRES=1`, as scripts/test
    /// does, or `only` for PostgreSQL alone).
    static let forMatrix: [TestCatalog] = switch ProcessInfo.processInfo.environment["CONIFER_MATRIX_ON_POSTGRES"] {
    case "1": available
    case "only": [.postgres]
    default: [.sqlite]
    }

    var testDescription: String { rawValue }
}

extension ConiferApplication {
    /// The catalog as the SQLite one it is, for the test seams that create rows without a caller.
    var sqliteCatalog: SQLiteCatalog { auditSpool as! SQLiteCatalog }
    /// The catalog, either store, for the test seams that create rows without a caller.
    var catalogStore: any CatalogStore { auditSpool as! any SQLCatalog }
}

/// Keeps the audit objects the server writes in memory, for tests of who may configure the export (the S3
/// wire itself is tested against a real S3-speaking server in conformance/test_audit_export.py).
actor MemoryAuditUploader: AuditUploader {
    var objects: [String: Data] = [:]
    func put(_ body: Data, key: String, to destination: AuditDestination) { objects["\(destination.bucket)/\(key)"] = body }
}

/// A response with its JSON body parsed, for assertions.
struct Reply {
    var status: Int
    var headers: HTTPFields
    var text: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    /// `error.code` of a control-plane error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    /// `code` of a data-plane error body.
    var grpcCode: Int? { json["code"] as? Int }
    var message: String? { (json["error"] as? [String: Any])?["message"] as? String ?? json["message"] as? String }
}

extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        key: String? = TestServer.bootstrapKey,
        version: String? = nil,
        headers extra: [(String, String)] = [],
        body: String? = nil
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Api-Key")!] = key }
        if let version { headers[HTTPField.Name("X-Pinecone-Api-Version")!] = version }
        for (name, value) in extra { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// An access token from `/oauth/token` for a service account.
    func token(clientID: String = TestServer.clientID, secret: String = TestServer.clientSecret) async throws -> String {
        let reply = try await call(
            .post, "/oauth/token", key: nil,
            body: #"{"grant_type":"client_credentials","client_id":"\#(clientID)","client_secret":"\#(secret)","audience":"https://api.pinecone.io/"}"#
        )
        guard let token = reply.json["access_token"] as? String else { throw TestFailure("no token: \(reply.text)") }
        return token
    }

    /// A new service account with an organization role, created by `owner`, and a token for it.
    func serviceAccount(_ name: String, role: OrganizationRole, owner: String) async throws -> (id: String, token: String) {
        let created = try await admin(
            .post, "/admin/service-accounts", token: owner,
            body: #"{"name":"\#(name)","role_bindings":[{"resource_type":"organization","role":"\#(role.rawValue)"}]}"#
        )
        guard let account = created.json["service_account"] as? [String: Any], let id = account["id"] as? String,
              let clientID = account["client_id"] as? String, let secret = created.json["client_secret"] as? String
        else { throw TestFailure("no service account: \(created.text)") }
        return (id, try await token(clientID: clientID, secret: secret))
    }

    /// An Admin API call with a bearer token.
    func admin(_ method: HTTPRequest.Method, _ uri: String, token: String, body: String? = nil) async throws -> Reply {
        try await call(method, uri, key: nil, headers: [("Authorization", "Bearer \(token)")], body: body)
    }

    /// Creates a dense serverless index in the 2025-04 dialect.
    @discardableResult
    func createIndex(_ name: String, dimension: Int = 3, metric: String = "cosine", key: String = TestServer.bootstrapKey, extra: String = "") async throws -> Reply {
        try await call(
            .post, "/indexes", key: key,
            body: #"{"name":"\#(name)","dimension":\#(dimension),"metric":"\#(metric)","spec":{"serverless":{"cloud":"aws","region":"us-east-1"}}\#(extra)}"#
        )
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
