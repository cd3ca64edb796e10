import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Rate limits: token buckets per index and operation class and per project for the control plane, holding
/// under concurrency, answering 429 with `Retry-After` in the plane's error shape.
@Suite struct RateLimitTests {
    @Test func theSyntaxOfTheFlagAndItsErrors() throws {
        let parsed = try RateLimits.parse("query=5, upsert=2.5,control=0")
        #expect(parsed.perSecond[.query] == 5 && parsed.perSecond[.upsert] == 2.5 && parsed.perSecond[.control] == 0)
        #expect(parsed.perSecond[.list] == 200, "unnamed classes keep Pinecone's defaults")
        #expect(try RateLimits.parse("") == .defaults)
        for bad in ["query", "query=-1", "nope=3", "query=fast", "query=inf"] {
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

    /// Over HTTP, with limits low enough that a burst is refused however slowly this machine serves it (the
    /// exact count and the refill are checked above, with a fixed clock): one query and one control call per
    /// 10 seconds.
    @Test func overTheLimitAnswers429WithRetryAfterInEachPlanesShape() async throws {
        try await TestServer.run(configure: { $0.rateLimits = RateLimits(perSecond: [.query: 0.1, .control: 0.1]) }) { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            #expect(try await client.createIndex("limited").status == 201)  // the control bucket's one call
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: (Int, String?, String).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let reply = try await client.call(.post, "/data/\(project)/limited/query", body: #"{"topK":1,"vector":[1,0,0]}"#)
                        return (reply.status, reply.headers[.retryAfter], reply.text)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let elapsed = Double((ContinuousClock.now - started).components.seconds) + 1
            let passed = statuses.filter { $0.0 == 200 }.count
            #expect(passed >= 1 && Double(passed) <= 1 + 0.1 * elapsed, "\(passed) passed in about \(elapsed) s")
            let refused = statuses.filter { $0.0 == 429 }
            #expect(refused.count == 20 - passed && !refused.isEmpty)
            for (_, retryAfter, text) in refused {
                #expect(retryAfter.flatMap(Int.init).map { (1...10).contains($0) } == true, "\(String(describing: retryAfter))")
                #expect(text.contains(#""code":8"#) && text.contains("query"), "the data plane's shape: \(text)")
            }
            // The control plane, per project, in its own shape.
            let refusedControl = try await client.call(.get, "/indexes")  // the creation took the bucket's one call
            #expect(refusedControl.status == 429 && refusedControl.json["status"] as? Int == 429 && refusedControl.headers[.retryAfter] != nil, "\(refusedControl.text)")
            #expect((refusedControl.json["error"] as? [String: Any])?["code"] as? String == "RESOURCE_EXHAUSTED")
        }
    }
}
