import ConiferCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Transactions on a PostgreSQL database for code written as one synchronous closure per transaction, as the
/// catalog's row stores are (GRDB's transactions are synchronous closures too).
///
/// Each transaction runs on a thread of its own pool (never on an event loop or a Swift concurrency thread, since
/// every statement in it waits for its answer), holding one connection from BEGIN to COMMIT. There are as many
/// threads as connections (`poolSize`); a connection is opened when a transaction needs one and none is idle, and
/// one that failed is closed and replaced by the next transaction. A serialization failure or deadlock (SQLSTATE
/// 40001, 40P01) rolls back and runs the whole closure again, a few times, after a short random pause, so the
/// closure must do nothing but read and write through its `PostgresStatements`. A connection that cannot be opened
/// or is lost is `ConiferError.unavailable` (503): nothing of that transaction was committed, and the next
/// transaction connects again, so the server recovers when the database does, without a restart.
public final class PostgresTransactions: Sendable {
    public enum Isolation: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    public let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let threads: NIOThreadPool
    private let group: any EventLoopGroup
    private let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    private let nextID = Atomic<Int>(1)
    /// Transactions run again after a serialization failure or deadlock (for tests and metrics).
    public var retries: Int { retried.load(ordering: .relaxed) }
    private let retried = Atomic<Int>(0)
    /// How many times a transaction runs before its serialization failure is given up on (a 503).
    static let attempts = 25

    public init(location: PostgresLocation, poolSize: Int, logger: Logger = Logger(label: "conifer.catalog.postgres")) throws {
        precondition(poolSize > 0)
        self.location = location
        configuration = try location.configuration()
        threads = NIOThreadPool(numberOfThreads: poolSize)
        threads.start()
        group = MultiThreadedEventLoopGroup.singleton
        self.logger = logger
    }

    deinit {
        for connection in idle.withLock({ $0 }) { Self.discard(connection) }
        threads.shutdownGracefully { _ in }
    }

    /// Runs `work` in one transaction at `isolation` and commits it; the closure's error (after a rollback) or
    /// `ConiferError.unavailable` when the database cannot be reached.
    @discardableResult
    public func transaction<T: Sendable>(
        _ isolation: Isolation = .serializable, readOnly: Bool = false, _ work: @escaping @Sendable (PostgresStatements) throws -> T
    ) async throws -> T {
        try await threads.runIfActive { [self] in try run(isolation, readOnly: readOnly, work) }
    }

    /// Runs `work` outside any transaction, each statement committing on its own (statements PostgreSQL refuses inside
    /// one, such as `CREATE DATABASE`).
    @discardableResult
    public func withoutTransaction<T: Sendable>(_ work: @escaping @Sendable (PostgresStatements) throws -> T) async throws -> T {
        try await threads.runIfActive { [self] in
            let connection = try checkOut()
            do {
                let result = try work(PostgresStatements(connection: connection, logger: logger))
                checkIn(connection)
                return result
            } catch {
                Self.discard(connection)
                throw Self.connectionLost(error) ? unavailable(error) : error
            }
        }
    }

    /// Closes the idle connections.
    public func close() {
        for connection in idle.withLock({ idle in defer { idle = [] }; return idle }) { try? connection.close().wait() }
    }

    private func run<T>(_ isolation: Isolation, readOnly: Bool, _ work: (PostgresStatements) throws -> T) throws -> T {
        var attempt = 1
        while true {
            let connection = try checkOut()
            let statements = PostgresStatements(connection: connection, logger: logger)
            do {
                try statements.execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")")
                let result = try work(statements)
                if readOnly {
                    // Nothing to commit, so nothing to wait for: the connection runs its statements in order, so the
                    // next transaction on it begins after this COMMIT (and fails, to be replaced, if the COMMIT did).
                    _ = connection.query("COMMIT", logger: logger)
                    checkIn(connection)
                    return result
                }
                try statements.execute("COMMIT")
                checkIn(connection)
                return result
            } catch {
                if Self.connectionLost(error) {
                    Self.discard(connection)
                    throw unavailable(error)
                }
                do {
                    try statements.execute("ROLLBACK")
                    checkIn(connection)
                } catch {
                    Self.discard(connection)
                }
                guard Self.retryable(error), attempt < Self.attempts else {
                    if Self.retryable(error) {
                        throw ConiferError(.unavailable, "The catalog is too busy to complete this change; retry.")
                    }
                    throw error
                }
                retried.add(1, ordering: .relaxed)
                // A random pause that grows with the attempts (1 ms to at most 64 ms), so that contenders spread out.
                usleep(UInt32.random(in: 1_000...(1_000 << UInt32(min(attempt, 6)))))
                attempt += 1
            }
        }
    }

    private func checkOut() throws -> PostgresConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        do {
            let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw unavailable(error)
        }
    }

    /// Closes a connection that is not to be used again, keeping it until it is closed (postgres-nio expects a
    /// connection to be closed before it goes).
    private static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        idle.withLock { $0.append(connection) }
    }

    /// SQLSTATE 40001 (serialization_failure) and 40P01 (deadlock_detected): running the transaction again may succeed.
    static func retryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// Whether the connection is gone (closed, reset, the server shut down or terminated it: SQLSTATE class 57P,
    /// 08), as opposed to a statement's own error.
    static func connectionLost(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] { return state.hasPrefix("57P") || state.hasPrefix("08") }
            return [.connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection]
                .contains(error.code)
        }
        return error is ChannelError || error is IOError
    }

    /// The 503 a caller gets; what went wrong is for the operator's log, not the caller.
    func unavailable(_ error: any Error) -> ConiferError {
        logger.warning("the catalog database is unavailable", metadata: ["error": "\(String(reflecting: error).prefix(500))"])
        return ConiferError(.unavailable, "The catalog database is unavailable; retry.")
    }
}

/// The statements of one transaction, on its connection; used only on the transaction's own thread.
public struct PostgresStatements {
    let connection: PostgresConnection
    let logger: Logger

    /// The rows `sql` returns; `binds` fill `$1`, `$2`, … in order.
    public func rows(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
        try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().rows
    }

    /// Runs `sql`; returns how many rows it changed (0 for statements that change none).
    @discardableResult
    public func execute(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> Int {
        try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().metadata.rows ?? 0
    }
}
