import ConiferCore
import Foundation
import Testing
@testable import ConiferAccess

/// Console sessions in the catalog, at times the test chooses: a session lives while it is used, ends after the idle
/// time, at its absolute end, at sign-out and when its user leaves the organization; only the secret's hash is
/// stored; its CSRF token is its own.
@Suite struct ConsoleSessionTests {
    static let policy = ConsoleSessionPolicy(idle: 30 * 60, absolute: 12 * 3600, touchAfter: 60)

    /// A catalog with its owner and a user (OrgMember) who accepted an invite with a password.
    static func withUser(_ body: (AdminService, AdminPass, UUID, Int, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteCatalog(directory: directory, sealingKey: CatalogTests.sealingKey)
        _ = try await CatalogService(catalog: sqlite).bootstrapIfNeeded(apiKeyValue: nil)
        let admin = AdminService(catalog: sqlite)
        let account = try #require(try await admin.bootstrapServiceAccount(clientID: nil, clientSecret: nil))
        let owner = try #require(try await admin.identity(serviceAccount: account.account.id, generation: 1)).admit()
        let binding = InviteBinding(resourceType: .organization, resourceID: nil, role: OrganizationRole.member.rawValue)
        let invite = try await admin.createInvite(email: "ada@example.com", roleBindings: [binding], for: owner)
        _ = try await admin.acceptInvite(token: invite.token, password: "a long enough password", name: "Ada")
        let user = try #require(try await admin.authenticateUser(email: "ada@example.com", password: "a long enough password"))
        try await body(admin, owner, user.id, user.generation, directory)
    }

    @Test func aSessionLivesWhileUsedAndEndsWhenIdleOrAtItsEnd() async throws {
        try await Self.withUser { admin, _, user, generation, directory in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let started = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: start))
            #expect(started.secret.hasPrefix("pccs_") && started.identity.organizationRole == .member)
            func identity(after seconds: TimeInterval) async throws -> Identity? {
                try await admin.consoleSession(secret: started.secret, policy: Self.policy, at: start.addingTimeInterval(seconds))
            }
            // Used every 29 minutes it lives (each use moves the idle deadline) until its absolute end at 12 hours.
            var at: TimeInterval = 0
            while at + 29 * 60 < 12 * 3600 {
                at += 29 * 60
                #expect(try await identity(after: at)?.kind == .user(user), "at \(at / 60) minutes")
            }
            #expect(try await identity(after: 12 * 3600) == nil, "past its absolute end")
            #expect(try await identity(after: at) == nil, "ended for good: the row is gone")

            // Idle: 30 minutes without a request end it.
            let idle = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: start))
            #expect(try await admin.consoleSession(secret: idle.secret, policy: Self.policy, at: start.addingTimeInterval(30 * 60)) == nil)
            #expect(try await admin.consoleSession(secret: idle.secret, policy: Self.policy, at: start.addingTimeInterval(60)) == nil)

            // Only the secret's hash is in the catalog's files.
            for file in try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil) {
                #expect(try Data(contentsOf: file).range(of: Data(started.secret.utf8)) == nil, "\(file.lastPathComponent)")
            }
        }
    }

    @Test func signOutAndLeavingTheOrganizationEndASession() async throws {
        try await Self.withUser { admin, owner, user, generation, _ in
            let now = Date()
            let first = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: now))
            let second = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: now))
            try await admin.endConsoleSession(secret: first.secret)
            #expect(try await admin.consoleSession(secret: first.secret, policy: Self.policy, at: now) == nil)
            #expect(try await admin.consoleSession(secret: second.secret, policy: Self.policy, at: now) != nil, "another browser stays signed in")
            #expect(try await admin.startConsoleSession(user: user, generation: generation + 1, policy: Self.policy, at: now) == nil, "an old password's generation")
            #expect(try await admin.consoleSession(secret: "pccs_" + String(repeating: "x", count: 43), policy: Self.policy, at: now) == nil)
            #expect(try await admin.consoleSession(secret: "not a secret\n", policy: Self.policy, at: now) == nil)

            try await admin.removeUser(user, for: owner)
            #expect(try await admin.consoleSession(secret: second.secret, policy: Self.policy, at: now) == nil, "no longer a member")
        }
    }

    @Test func endedSessionsAreRemovedAndCSRFTokensAreTheSessionsOwn() async throws {
        try await Self.withUser { admin, _, user, generation, _ in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let old = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: start))
            let fresh = try #require(try await admin.startConsoleSession(user: user, generation: generation, policy: Self.policy, at: start.addingTimeInterval(25 * 60)))
            #expect(try await admin.removeEndedConsoleSessions(policy: Self.policy, at: start.addingTimeInterval(31 * 60)) == 1)
            #expect(try await admin.consoleSession(secret: fresh.secret, policy: Self.policy, at: start.addingTimeInterval(31 * 60)) != nil)

            let token = ConsoleSession.csrfToken(secret: old.secret)
            #expect(ConsoleSession.verifyCSRF(token, secret: old.secret))
            #expect(!ConsoleSession.verifyCSRF(token, secret: fresh.secret), "another session's token")
            #expect(!ConsoleSession.verifyCSRF(nil, secret: old.secret) && !ConsoleSession.verifyCSRF("", secret: old.secret))
            #expect(token.count == 43 && !token.contains("+") && !token.contains("/") && !token.contains("="))
        }
    }
}
