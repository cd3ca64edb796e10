import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing
@testable import ConiferServer

/// Rate limits: token buckets per index and operation class and per project for the control plane, holding
/// under concurrency, answering 429 with `Retry-After` in the plane's error shape.
@Suite struct RateLimitTests {
    @Test func theSyntaxOfTheFlagAndItsErrors() throws {
        let parsed = try RateLimits.parse("query=5, upsert=2.5,control=0")
        #expect(parsed.perSecond[.query] == 5 && parsed.perSecond[.upsert] == 2.5 && parsed.perSecond[.control] == 0)
        #expect(parsed.perSecond[.list] == nil && parsed.perNamespace.isEmpty, "unnamed classes stay unlimited")
        #expect(try RateLimits.parse("") == .unlimited && RateLimits.defaults == .unlimited, "a self-hosted server limits nothing by default")
        let pinecone = try RateLimits.parse("pinecone, query=0")
        #expect(pinecone.perSecond[.query] == 0 && pinecone.perSecond[.upsert] == 100 && pinecone.perSecond[.list] == 200)
        #expect(pinecone.perNamespace == [.query, .upsert, .update, .delete], "Pinecone counts these per namespace")
        for bad in ["query", "query=-1", "nope=3", "query=fast", "query=inf", "pinecones"] {
            #expect(throws: ConiferError.self, "\(bad)") { try RateLimits.parse(bad) }
        }
    }

    /// 400 concurrent takes at 50 per second from a full bucket: exactly 50 pass; half a second later, 25 more.
    @Test func aBucketAdmitsExactlyItsRateUnderConcurrency() async throws {
        let limiter = RateLimiter(limits: try RateLimits.parse("query=50"))
        let start = ContinuousClock.now
        func burst(at now: ContinuousClock.Instant) async -> (passed: Int, waits: [Int]) {
            await withTaskGroup(of: Int?.self) { group in
                for _ in 0..<400 {
                    group.addTask {
                        do {
                            try limiter.take(.query, key: "index", what: "index i", now: now)
                            return nil
                        } catch {
                            return (error as? ConiferError)?.retryAfterSeconds ?? -1
                        }
                    }
                }
                var passed = 0
                var waits: [Int] = []
                for await result in group {
                    if let wait = result { waits.append(wait) } else { passed += 1 }
                }
                return (passed, waits)
            }
        }
        let first = await burst(at: start)
        #expect(first.passed == 50)
        #expect(first.waits.allSatisfy { $0 == 1 }, "Retry-After is whole seconds, at least 1")
        #expect(await burst(at: start + .milliseconds(500)).passed == 25)
        // Another key has its own bucket.
        #expect(throws: Never.self) { try limiter.take(.query, key: "other", what: "index o", now: start + .milliseconds(500)) }
    }

    /// Many buckets (made-up namespaces or addresses) are pruned, but only the ones that have refilled: a drained
    /// bucket stays drained, whatever its rate.
    @Test func pruningManyBucketsNeverRefillsADrainedOne() throws {
        let limiter = RateLimiter(limits: try RateLimits.parse("query=0.5"))
        let start = ContinuousClock.now
        for i in 0...RateLimiter.pruneAbove { try limiter.take(.query, key: "k\(i)", what: "k", now: start) }
        #expect(throws: ConiferError.self, "drained 1.5 s ago at one per 2 s") {
            try limiter.take(.query, key: "k0", what: "k", now: start + .milliseconds(1500))
        }
        #expect(throws: Never.self, "refilled after 2 s") { try limiter.take(.query, key: "k1", what: "k", now: start + .seconds(2)) }
    }

    /// A clock that stands still until the test moves it.
    final class TestClock: Sendable {
        private let instant = Mutex(ContinuousClock.now)
        var now: ContinuousClock.Instant { instant.withLock { $0 } }
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    /// Over HTTP, on a clock the test moves (so how fast this machine serves does not matter): one query per
    /// second per index, 19 of a burst of 20 refused in the data plane's shape with Retry-After; one more once a
    /// second has passed. The control plane's bucket is the project's, in its own shape.
    @Test func overTheLimitAnswers429WithRetryAfterInEachPlanesShape() async throws {
        let clock = TestClock()
        try await TestServer.run(configure: {
            $0.rateLimits = RateLimits(perSecond: [.query: 1, .control: 1])
            $0.rateLimitClock = { clock.now }
        }) { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("limited").status == 201)  // the control bucket's one call
            func burst() async throws -> [(Int, String?, String)] {
                try await withThrowingTaskGroup(of: (Int, String?, String).self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            let reply = try await client.call(.post, "/data/\(project)/limited/query", body: #"{"topK":1,"vector":[1,0,0]}"#)
                            return (reply.status, reply.headers[.retryAfter], reply.text)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let statuses = try await burst()
            #expect(statuses.filter { $0.0 == 200 }.count == 1)
            let refused = statuses.filter { $0.0 == 429 }
            #expect(refused.count == 19)
            for (_, retryAfter, text) in refused {
                #expect(retryAfter == "1", "\(String(describing: retryAfter))")
                #expect(text.contains(#""code":8"#) && text.contains("query"), "the data plane's shape: \(text)")
            }
            // The control plane, per project, in its own shape.
            let refusedControl = try await client.call(.get, "/indexes")  // the creation took the bucket's one call
            #expect(refusedControl.status == 429 && refusedControl.json["status"] as? Int == 429 && refusedControl.headers[.retryAfter] != nil, "\(refusedControl.text)")
            #expect((refusedControl.json["error"] as? [String: Any])?["code"] as? String == "RESOURCE_EXHAUSTED")
            clock.advance(.seconds(1))
            #expect(try await burst().filter { $0.0 == 200 }.count == 1, "one more a second later")
            #expect(try await client.call(.get, "/indexes").status == 200)
        }
    }

    /// Pinecone counts queries and writes per namespace: each namespace of an index has its own bucket.
    @Test func classesCountedPerNamespaceHaveABucketPerNamespace() async throws {
        let clock = TestClock()
        try await TestServer.run(configure: {
            $0.rateLimits = RateLimits(perSecond: [.query: 1, .upsert: 1], perNamespace: [.query, .upsert])
            $0.rateLimitClock = { clock.now }
        }) { server, client in
            let data = "/data/\(try #require(server.bootstrap).projectID.lowercasedString)/spaced"
            #expect(try await client.createIndex("spaced").status == 201)
            for namespace in ["a", "b"] {
                #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"x","values":[1,0,0]}],"namespace":"\#(namespace)"}"#).status == 200)
                #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0],"namespace":"\#(namespace)"}"#).status == 200)
            }
            let again = try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0],"namespace":"a"}"#)
            #expect(again.status == 429 && again.text.contains("namespace a"), "\(again.text)")
        }
    }

    /// Every route in the route table has a rate class: the data plane its index's (or namespace's), the control
    /// plane its project's, the Admin API its organization's, routes without credentials their source address's;
    /// only health checks and the operator's metrics are exempt. And each class really limits its routes.
    @Test func everyRouteHasARateClassAndEachClassLimits() async throws {
        let clock = TestClock()
        let one = Dictionary(uniqueKeysWithValues: RateLimits.Operation.allCases.map { ($0, 1.0) })
        try await TestServer.run(configure: {
            $0.rateLimits = RateLimits(perSecond: one)
            $0.rateLimitClock = { clock.now }
        }) { server, client in
            let (_, routes) = server.buildRouter()
            for entry in routes.entries {
                let where_ = "\(entry.method) \(entry.path)"
                switch entry.rate {
                case .index: #expect(entry.path.hasPrefix("/data/"), "\(where_)")
                case .project: #expect(!entry.path.hasPrefix("/data/") && !entry.path.hasPrefix("/admin/"), "\(where_)")
                case .organization: #expect(entry.path.hasPrefix("/admin/") || entry.credential == .consoleSession, "\(where_)")
                case .source:
                    let signIns = ["/console/sign-in", "/console/accept-invite", "/console/sso"]
                    #expect(entry.path.hasPrefix("/oauth/") || entry.path.hasPrefix("/saml/") || signIns.contains(entry.path), "\(where_)")
                case .exempt: #expect(["/health", "/metrics", "/console/style.css"].contains(entry.path), "\(where_)")
                }
                if entry.path.hasPrefix("/data/") { #expect(entry.rate != .project, "\(where_)") }
            }
            let data = "/data/\(try #require(server.bootstrap).projectID.lowercasedString)/limited"
            let owner = try await client.token()  // the source address's one sign-in
            let secondSignIn = try await client.call(
                .post, "/oauth/token", key: nil, body: #"{"grant_type":"client_credentials","client_id":"\#(TestServer.clientID)","client_secret":"x"}"#
            )
            #expect(secondSignIn.status == 429, "\(secondSignIn.text)")
            #expect(try await client.admin(.get, "/admin/projects", token: owner).status == 200)
            #expect(try await client.admin(.get, "/admin/service-accounts", token: owner).status == 429, "the organization's bucket")
            #expect(try await client.call(.get, "/backups").status == 200)
            for path in ["/collections", "/restore-jobs", "/indexes"] {
                #expect(try await client.call(.get, path).status == 429, "\(path) shares the project's bucket")
            }
            clock.advance(.seconds(1))
            #expect(try await client.createIndex("limited").status == 201)
            for path in ["describe_index_stats", "namespaces"] {
                let method: HTTPRequest.Method = path == "namespaces" ? .get : .post
                #expect(try await client.call(method, "\(data)/\(path)", body: method == .post ? "{}" : nil).status == 200)
                #expect(try await client.call(method, "\(data)/\(path)", body: method == .post ? "{}" : nil).status == 429, "\(path)")
            }
        }
    }

    /// An organization's plan, then the operator for one project (`conifer org rate-limits`), set limits over the
    /// server's (unlimited here); clearing a project's limits leaves its plan's.
    @Test func plansAndTheOperatorSetLimitsPerProject() async throws {
        let clock = TestClock()
        try await TestServer.run(configure: {
            $0.planRateLimits = [.standard: RateLimits(perSecond: [.query: 1, .admin: 1])]
            $0.rateLimitClock = { clock.now }
        }) { server, client in
            let project = try #require(server.bootstrap).projectID
            let data = "/data/\(project.lowercasedString)/planned"
            #expect(try await client.createIndex("planned").status == 201)
            func passed(_ count: Int) async throws -> Int {
                var passed = 0
                for _ in 0..<count where try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0]}"#).status == 200 { passed += 1 }
                return passed
            }
            #expect(try await passed(5) == 5, "Enterprise has no limits here")
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await passed(3) == 1, "the Standard plan's one query per second")
            _ = try await CatalogService(catalog: server.sqliteCatalog).setRateLimits(project: project, "query=3")
            clock.advance(.seconds(1))
            #expect(try await passed(5) == 3, "the operator's limits for this project, over its plan's")
            _ = try await CatalogService(catalog: server.sqliteCatalog).setRateLimits(project: project, nil)
            clock.advance(.seconds(1))
            #expect(try await passed(3) == 1, "cleared: the plan's again")
            let owner = try await client.token()
            #expect(try await client.admin(.get, "/admin/projects", token: owner).status == 200)
            #expect(try await client.admin(.get, "/admin/projects", token: owner).status == 429, "the plan's Admin API limit")
        }
    }
}
