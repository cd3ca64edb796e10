import ConiferCore
import Crypto
import Foundation

/// A signed-in browser of the web console: a server-side row behind an HttpOnly cookie that carries only a random
/// secret. The row ends at sign-out, after `ConsoleSessionPolicy.idle` without a request, at its absolute end, when
/// the user's password changes (its generation) or when the user is no longer a member.
public struct ConsoleSession: Sendable, Equatable {
    /// The SHA-256 (lowercase hex) of the cookie's secret.
    public var secretHash: String
    public var userID: UUID
    public var passwordGeneration: Int
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date

    /// A new cookie secret: `pccs_` and 256 bits from the system's generator.
    static func newSecret() -> String { "pccs_" + APIKeySecret.randomText(length: APIKeySecret.secretLength) }

    /// The CSRF token of the session whose cookie holds `secret`: an HMAC of the secret, so a page can carry it
    /// in its forms without the server keeping it, and a page of another session (or none) cannot produce it.
    public static func csrfToken(secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("conifer console csrf".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `token` is the CSRF token of the session whose cookie holds `secret` (in constant time).
    public static func verifyCSRF(_ token: String?, secret: String) -> Bool {
        guard let token else { return false }
        return APIKeySecret.constantTimeEquals(token, csrfToken(secret: secret))
    }
}

/// How long a console session lasts: `idle` without a request, `absolute` at most.
public struct ConsoleSessionPolicy: Sendable, Equatable {
    public var idle: TimeInterval
    public var absolute: TimeInterval
    /// A request later than this after the last recorded one is recorded (not every request writes the catalog).
    public var touchAfter: TimeInterval

    public init(idle: TimeInterval = 30 * 60, absolute: TimeInterval = 12 * 3600, touchAfter: TimeInterval = 60) {
        self.idle = idle
        self.absolute = absolute
        self.touchAfter = touchAfter
    }
}

extension AdminService {
    /// Starts a session for a user whose password was just checked (`authenticateUser`): the cookie's secret,
    /// shown only to that browser. A user who is not a member of an organization gets none.
    public func startConsoleSession(
        user: UUID, generation: Int, policy: ConsoleSessionPolicy, at now: Date = Date()
    ) async throws -> (secret: String, identity: Identity)? {
        let secret = ConsoleSession.newSecret()
        return try await store.write { rows in
            guard let row = try rows.user(user), row.passwordGeneration == generation, let identity = try Self.identity(rows, user: row) else {
                return nil
            }
            try rows.save(ConsoleSession(
                secretHash: APIKeySecret.hash(secret), userID: user, passwordGeneration: generation, createdAt: now, lastSeenAt: now,
                expiresAt: now.addingTimeInterval(policy.absolute)
            ))
            return (secret, identity)
        }
    }

    /// The identity of the session whose cookie holds `secret`, as the user's roles are now; nil (and the row
    /// removed) when it has ended. Records the request's time when the last one recorded is older than
    /// `policy.touchAfter`.
    public func consoleSession(secret: String, policy: ConsoleSessionPolicy, at now: Date = Date()) async throws -> Identity? {
        guard APIKeySecret.isPlausible(secret) else { return nil }
        let hash = APIKeySecret.hash(secret)
        let found = try await store.read { rows -> (ConsoleSession, Identity?)? in
            guard let session = try rows.consoleSession(secretHash: hash) else { return nil }
            guard let user = try rows.user(session.userID), user.passwordGeneration == session.passwordGeneration else { return (session, nil) }
            return (session, try Self.identity(rows, user: user))
        }
        guard let (session, identity) = found else { return nil }
        let live = now < session.expiresAt && now.timeIntervalSince(session.lastSeenAt) < policy.idle
        guard live, let identity else {
            try await store.write { rows in try rows.deleteConsoleSession(secretHash: hash) }
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) >= policy.touchAfter {
            var seen = session
            seen.lastSeenAt = now
            try await store.write { [seen] rows in try rows.save(seen) }
        }
        return identity
    }

    /// Ends the session whose cookie holds `secret` (sign-out); nothing when there is none.
    public func endConsoleSession(secret: String) async throws {
        guard APIKeySecret.isPlausible(secret) else { return }
        try await store.write { rows in try rows.deleteConsoleSession(secretHash: APIKeySecret.hash(secret)) }
    }

    /// Removes every session that has ended by time; returns how many.
    @discardableResult
    public func removeEndedConsoleSessions(policy: ConsoleSessionPolicy, at now: Date = Date()) async throws -> Int {
        try await store.write { rows in try rows.deleteConsoleSessions(lastSeenBefore: now.addingTimeInterval(-policy.idle), orExpiringBefore: now) }
    }
}
