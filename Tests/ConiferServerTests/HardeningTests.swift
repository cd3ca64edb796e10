import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// The findings of the outside attack run (issue 7), each checked through a running server the way the
/// attacker met it.
@Suite struct HardeningTests {
    // MARK: Finding 3 — sign-in throttling

    @Test func failedSignInsAreThrottledPerAccountEvenForTheRightPassword() async throws {
        try await TestServer.run(configure: { $0.loginThrottle = .init(accountLimit: 3, sourceLimit: 100) }) { _, client in
            let owner = try await client.token()
            _ = try await TargetRoleTests.user("victim@example.com", role: .member, owner: owner, client: client)
            func login(_ user: String, _ password: String) async throws -> Reply {
                try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"\#(user)","password":"\#(password)"}"#)
            }
            for _ in 0..<3 { #expect(try await login("victim@example.com", "wrong-password-123").status == 401) }
            let throttled = try await login("victim@example.com", "user-password-1234")
            #expect(throttled.status == 429)
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 >= 1, "429 without Retry-After: \(throttled.headers)")
            // Unknown accounts are throttled the same way, so throttling does not reveal which exist.
            for _ in 0..<3 { #expect(try await login("nobody@example.com", "wrong-password-123").status == 401) }
            #expect(try await login("nobody@example.com", "wrong-password-123").status == 429)
            // Not service accounts (second attack run, finding 8): their client ids are not secret, so anyone could
            // lock one out by it; failures against it are counted by source only, and the real client gets in.
            for _ in 0..<10 { #expect(try await client.call(.post, "/oauth/token", key: nil, body: Self.clientGrant(secret: "wrong-secret-0123456789abcdef")).status == 401) }
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: Self.clientGrant(secret: TestServer.clientSecret)).status == 200)
        }
    }

    /// Second attack run, findings 6 and 9: failed sign-ins naming accounts that do not exist become one event per
    /// source address and window, not one per request; what the caller chose is bounded, and a secret typed into
    /// the name field is redacted.
    @Test func anonymousSignInsCannotGrowTheAuditLogOrLeakASecretIntoIt() async throws {
        try await TestServer.run(configure: { $0.loginThrottle = .init(accountLimit: 1000, sourceLimit: 1000) }) { server, client in
            let owner = try await client.token()
            func events() async throws -> [[String: Any]] {
                try #require(try await client.admin(.get, "/admin/audit-events?limit=1000&action=login", token: owner).json["data"] as? [[String: Any]])
            }
            let before = try await events().count
            let agent = String(repeating: "A", count: 1024)
            let secret = "pcsa_" + String(repeating: "s3cr3t", count: 8)
            for i in 0..<40 {
                let name = i == 0 ? secret : "nobody-\(i)-" + String(repeating: "x", count: 200)
                let reply = try await client.call(
                    .post, "/oauth/token", key: nil, headers: [("User-Agent", agent)], body: Self.clientGrant(id: name, secret: "wrong-secret-0123456789abcdef")
                )
                #expect(reply.status == 401)
            }
            for password in ["Hunter2!hunter2", "pcsk_abc_def"] {
                let reply = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"\#(password)","password":"x"}"#)
                #expect(reply.status == 401)
            }
            let new = try await events().dropLast(before)
            #expect(new.count == 1, "one event for 42 anonymous failures from one address: \(new.count)")
            let event = try #require(new.first)
            #expect((event["client"] as? [String: Any])?["userAgent"] as? String == String(repeating: "A", count: 256))
            #expect((event["actor"] as? [String: Any])?["principal_name"] as? String == Redaction.placeholder)
            #expect((event["event"] as? [String: Any])?["resource_id"] as? String == Redaction.placeholder)
            let parameters = (event["event"] as? [String: Any])?["parameters"] as? [String: Any]
            #expect(parameters?["source_address"] as? String == "127.0.0.1")
            let all = try await client.admin(.get, "/admin/audit-events?limit=1000", token: owner).text
            #expect(!all.contains("s3cr3t") && !all.contains("Hunter2") && !all.contains("pcsk_abc"), "a secret reached the audit log")
            // Known accounts' failures are still recorded one by one.
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: Self.clientGrant(secret: "wrong-secret-0123456789abcdef")).status == 401)
            #expect(try await events().count == before + 2)
        }
    }

    @Test func failedSignInsAreThrottledPerSource() async throws {
        try await TestServer.run(configure: { $0.loginThrottle = .init(accountLimit: 100, sourceLimit: 4) }) { _, client in
            for i in 0..<4 {
                let reply = try await client.call(.post, "/oauth/token", key: nil, body: Self.clientGrant(id: "guess-\(i)", secret: "wrong-secret-0123456789abcdef"))
                #expect(reply.status == 401)
            }
            // A fifth account from the same address, even with the right secret, waits.
            #expect(try await client.call(.post, "/oauth/token", key: nil, body: Self.clientGrant(secret: TestServer.clientSecret)).status == 429)
        }
    }

    static func clientGrant(id: String = TestServer.clientID, secret: String) -> String {
        #"{"grant_type":"client_credentials","client_id":"\#(id)","client_secret":"\#(secret)"}"#
    }

    // MARK: Finding 4 — bounded filters

    @Test func oversizedFiltersAreRefusedBeforeEvaluation() async throws {
        try await TestServer.run { server, client in
            let data = try await Self.index(server, client, "filters", metric: "cosine")
            _ = try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,0,0,0],"metadata":{"n":1}}]}"#)
            let clauses = (0..<70_000).map { #"{"n":\#($0)}"# }.joined(separator: ",")
            let huge = try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0,0],"filter":{"$or":[\#(clauses)]}}"#)
            #expect(huge.status == 400)
            #expect(huge.message?.contains("clauses") == true, "\(huge.text.prefix(200))")
            // At the limit (an $or of 500 members of one condition each: 1,000 clauses) it is evaluated exactly.
            let largest = (1...500).map { #"{"n":\#($0)}"# }.joined(separator: ",")
            let accepted = try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0,0],"filter":{"$or":[\#(largest)]}}"#)
            #expect(accepted.status == 200, "\(accepted.text.prefix(200))")
            #expect((accepted.json["matches"] as? [[String: Any]])?.first?["id"] as? String == "a")
            let values = (0...10_000).map(String.init).joined(separator: ",")
            #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0,0],"filter":{"n":{"$in":[\#(values)]}}}"#).status == 400)
        }
    }

    // MARK: Finding 5 — scores never overflow

    @Test(arguments: ["dotproduct", "cosine", "euclidean"])
    func hugeValuesAreRefusedAndLargeOnesScoreFinitely(metric: String) async throws {
        try await TestServer.run { server, client in
            let data = try await Self.index(server, client, "big-\(metric)", metric: metric)
            let poison = try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"p","values":[3e38,3e38,3e38,3e38]}]}"#)
            #expect(poison.status == 400)
            #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[3e38,3e38,3e38,3e38]}"#).status == 400)
            // The largest accepted vectors (norm just under the bound) score finitely, at every topK.
            let big = #"[2e18,2e18,2e18,-2e18]"#
            let upsert = try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":\#(big)},{"id":"b","values":[-2e18,-2e18,-2e18,2e18]},{"id":"c","values":[1,2,3,4]}]}"#)
            #expect(upsert.status == 200, "\(upsert.text)")
            for topK in [1, 2, 3] {
                let reply = try await client.call(.post, "\(data)/query", body: #"{"topK":\#(topK),"vector":\#(big),"includeValues":true}"#)
                #expect(reply.status == 200, "\(reply.text.prefix(200))")
                let scores = (reply.json["matches"] as? [[String: Any]] ?? []).compactMap { ($0["score"] as? NSNumber)?.doubleValue }
                #expect(scores.count == topK, "\(reply.text.prefix(300))")
                #expect(scores.allSatisfy { $0.isFinite })
            }
        }
    }

    @Test func aValueJSONCannotCarryIsAServerFaultNotAnEmptyBody() throws {
        #expect(throws: ConiferError.self) { try WireJSON.encode(["score": Float.infinity]) }
        do {
            _ = try WireJSON.response(status: .ok, ["score": Float.nan])
            Issue.record("encoding NaN succeeded")
        } catch {
            #expect(error.code == .internalError)
            #expect(ErrorMapping.status(for: error.code) == .internalServerError)
        }
    }

    // MARK: Finding 6 — metadata limit after merge

    @Test func updatesCannotGrowMetadataPastTheLimit() async throws {
        try await TestServer.run { server, client in
            let data = try await Self.index(server, client, "meta", metric: "cosine")
            let big = String(repeating: "x", count: 30_000)
            let upsert = try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,0,0,0],"metadata":{"one":"\#(big)","g":"k"}}]}"#)
            #expect(upsert.status == 200)
            let byID = try await client.call(.post, "\(data)/vectors/update", body: #"{"id":"a","setMetadata":{"two":"\#(big)"}}"#)
            #expect(byID.status == 400)
            let byFilter = try await client.call(
                .post, "\(data)/vectors/update", version: "2025-10", body: #"{"filter":{"g":"k"},"setMetadata":{"two":"\#(big)"}}"#
            )
            #expect(byFilter.status == 400)
            let fetched = try await client.call(.get, "\(data)/vectors/fetch?ids=a")
            let metadata = ((fetched.json["vectors"] as? [String: Any])?["a"] as? [String: Any])?["metadata"] as? [String: Any]
            #expect(metadata?.keys.sorted() == ["g", "one"], "a rejected update changed the record")
            // Replacing a key with a smaller value is fine: the limit counts the record as stored.
            #expect(try await client.call(.post, "\(data)/vectors/update", body: #"{"id":"a","setMetadata":{"one":"small"}}"#).status == 200)
        }
    }

    // MARK: Finding 7 — topK with values or metadata

    @Test func topKIsCappedAtOneThousandWhenValuesOrMetadataAreIncluded() async throws {
        try await TestServer.run { server, client in
            let data = try await Self.index(server, client, "topk", metric: "cosine")
            _ = try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,0,0,0]}]}"#)
            for include in ["includeValues", "includeMetadata"] {
                #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1001,"vector":[1,0,0,0],"\#(include)":true}"#).status == 400)
                #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1000,"vector":[1,0,0,0],"\#(include)":true}"#).status == 200)
            }
            #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":10000,"vector":[1,0,0,0]}"#).status == 200)
        }
    }

    // MARK: Finding 10 — the low ones

    @Test func dataDirectoryAndCatalogAreOwnerOnlyEvenWhenTheyExistedBefore() async throws {
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await TestServer.run(directory: directory) { _, _ in }
        func mode(_ path: String) throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(path).path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode("") == 0o700)
        for file in DataDirectory.catalogFiles where FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path) {
            #expect(try mode(file) == 0o600, "\(file)")
        }
        #expect(try mode("catalog.sqlite") == 0o600)
    }

    @Test func unknownFieldsThatChangeMeaningAreRefused() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            let account = try await client.admin(.post, "/admin/service-accounts", token: owner, body: #"{"name":"x","organization_role":"OrgOwner"}"#)
            #expect(account.status == 400)
            #expect(account.message?.contains("organization_role") == true)
            #expect(try await client.admin(.get, "/admin/service-accounts", token: owner).text.contains(#""name":"x""#) == false)
            try await client.createIndex("fixed", dimension: 4)
            for (version, expected) in [("2025-04", 400), ("2026-07", 400)] {
                let patch = try await client.call(.patch, "/indexes/fixed", version: version, body: #"{"dimension":8}"#)
                #expect(patch.status == expected, "\(version): \(patch.text)")
            }
            #expect(try await client.call(.get, "/indexes/fixed").json["dimension"] as? Int == 4)
        }
    }

    @Test func pathNamesWithControlCharactersAreRefused() async throws {
        try await TestServer.run { _, client in
            try await client.createIndex("idx", dimension: 4)
            #expect(try await client.call(.get, "/indexes/idx").status == 200)
            for suffix in ["%00", "%0A", "%7F"] {
                #expect(try await client.call(.get, "/indexes/idx\(suffix)").status == 400, "\(suffix)")
            }
        }
    }

    @Test func acceptingAnInviteDoesNotRevealWhetherTheEmailHasAnAccount() async throws {
        try await TestServer.run { _, client in
            let owner = try await client.token()
            _ = try await TargetRoleTests.user("known@example.com", role: .member, owner: owner, client: client)
            let invite = try await client.admin(
                .post, "/admin/invites", token: owner, body: #"{"email":"known@example.com","role_bindings":[{"resource_type":"organization","role":"OrgMember"}]}"#
            )
            let token = try #require(invite.json["token"] as? String)
            let wrongPassword = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"\#(token)","password":"not-their-password"}"#)
            let unknownToken = try await client.call(.post, "/oauth/accept-invite", key: nil, body: #"{"token":"pcinv_doesnotexist0123456789","password":"not-their-password"}"#)
            #expect(wrongPassword.status == unknownToken.status)
            #expect(wrongPassword.text == unknownToken.text)
        }
    }

    /// Creates a 4-dimensional index and returns its data-plane path.
    static func index(_ server: ConiferApplication, _ client: some TestClientProtocol, _ name: String, metric: String) async throws -> String {
        let created = try await client.createIndex(name, dimension: 4, metric: metric)
        #expect(created.status == 201, "\(created.text)")
        return "/data/\(try #require(server.bootstrap).projectID.lowercasedString)/\(name)"
    }
}
