@testable import ConiferAccess
import ConiferCore
import Foundation
import Synchronization
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
@testable import ConiferServer

#if canImport(Glibc)
import Glibc
#endif

/// `DataPlaneFastPath` answers queries below the router: every answer must be the router's, byte for byte, and
/// anything it cannot answer without waiting or failing must reach the router unchanged.
@Suite struct FastPathTests {
    /// The same data on two servers, one with the fast path and one without.
    private static func withBothPaths(
        _ body: @Sendable (_ fast: Bool, _ server: ConiferApplication, _ data: String, _ call: @Sendable (String, String, [(String, String)], String?) async throws -> Reply) async throws -> Void
    ) async throws {
        for fast in [true, false] {
            try await TestServer.run(configure: Self.withoutPeriodicCommits { $0.fastPath = fast }) { server, client in
                let project = try #require(server.bootstrap).projectID
                let viewer = try await server.sqliteCatalog.createAPIKey(projectID: project, name: "viewer", roles: [.controlPlaneViewer])
                let reader = try await server.sqliteCatalog.createAPIKey(projectID: project, name: "reader", roles: [.dataPlaneViewer])
                #expect(try await client.createIndex("books", dimension: 3, metric: "dotproduct").status == 201)
                let data = "/data/\(project.lowercasedString)/books"
                for namespace in ["", "fr"] {
                    let upsert = try await client.call(.post, "\(data)/vectors/upsert", body: """
                        {"namespace":"\(namespace)","vectors":[{"id":"a","values":[1,0,0],"metadata":{"genre":"drama","year":1990}},
                        {"id":"b","values":[0.5,0.5,0],"metadata":{"genre":"comedy","year":2001}},{"id":"c","values":[0,0,1],"metadata":{"genre":"drama","year":2010}}]}
                        """)
                    #expect(upsert.status == 200, "\(upsert.text)")
                }
                let keys = ["bootstrap": TestServer.bootstrapKey, "viewer": viewer.value, "reader": reader.value]
                try await body(fast, server, data, { keyName, path, headers, json in
                    try await client.call(.post, path, key: keys[keyName] ?? (keyName.isEmpty ? nil : keyName), headers: headers, body: json)
                })
            }
        }
    }

    @Test func theFastPathAnswersAsTheRouterDoes() async throws {
        let cases: [(key: String, path: String, headers: [(String, String)], body: String?)] = [
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0.1,0]}"#),
            ("bootstrap", "/query", [], #"{"topK":10,"vector":[1,0.1,0],"includeValues":true,"includeMetadata":true}"#),
            ("bootstrap", "/query", [], #"{"topK":3,"vector":[0,0,1],"namespace":"fr","filter":{"genre":{"$eq":"drama"}},"includeMetadata":true}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"id":"b","namespace":"fr"}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"id":"missing"}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0,0],"namespace":"nowhere"}"#),
            ("reader", "/query", [("X-Pinecone-Api-Version", "2025-10")], #"{"topK":1,"vector":[0,1,0]}"#),
            // What the router refuses: the fast path must pass these on and change nothing.
            ("bootstrap", "/query", [], #"{"topK":0,"vector":[1,0,0]}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0]}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0,0],"queries":[]}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0,0],"filter":{"genre":{"$regex":"x"}}}"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0,0]"#),
            ("bootstrap", "/query", [], #"{"topK":2,"vector":[1,0,0],"namespace":"bad\u0000name"}"#),
            ("bootstrap", "/query", [("X-Pinecone-Api-Version", "1999-01")], #"{"topK":1,"vector":[1,0,0]}"#),
            ("viewer", "/query", [], #"{"topK":1,"vector":[1,0,0]}"#),
            ("pcsk_unknown_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", "/query", [], #"{"topK":1,"vector":[1,0,0]}"#),
            ("", "/query", [], #"{"topK":1,"vector":[1,0,0]}"#),
            ("bootstrap", "/query?x=1", [], #"{"topK":1,"vector":[1,0,0]}"#),
        ]
        let answers = Mutex<[Bool: [String]]>([:])
        let fastAnswers = Mutex<[Bool: Int]>([:])
        try await Self.withBothPaths { fast, server, data, call in
            var seen: [String] = []
            // Each case twice: the first use of a key reads the catalog through the router, the second finds it cached.
            for (key, path, headers, body) in cases {
                var answers: [String] = []
                for _ in 0..<2 {
                    let reply = try await call(key, data + path, headers, body)
                    let shown = reply.headers.filter { $0.name != .date }.map { "\($0.name)=\($0.value)" }.sorted()
                    answers.append("\(reply.status) \(shown) \(reply.text)")
                }
                #expect(answers[0] == answers[1], "\(body ?? "")")
                seen.append(answers[1])
            }
            // Another project's spelling of the path and an unknown index answer 404 alike.
            seen.append("\(try await call("bootstrap", data.uppercased() + "/query", [], #"{"topK":1,"vector":[1,0,0]}"#).status)")
            seen.append("\(try await call("bootstrap", data + "x/query", [], #"{"topK":1,"vector":[1,0,0]}"#).text)")
            answers.withLock { $0[fast] = seen }
            fastAnswers.withLock { $0[fast] = Self.fastPathAnswers(server) }
        }
        let (fast, routed) = answers.withLock { ($0[true] ?? [], $0[false] ?? []) }
        #expect(fast.count == cases.count + 2)
        for (index, (viaFastPath, viaRouter)) in zip(fast, routed).enumerated() {
            #expect(viaFastPath == viaRouter, "case \(index): \(cases[min(index, cases.count - 1)].body ?? "")")
        }
        #expect(fast.prefix(7).allSatisfy { $0.hasPrefix("200 ") }, "the first seven cases succeed")
        #expect(fast.dropFirst(7).prefix(cases.count - 7 - 2).allSatisfy { !$0.hasPrefix("200 ") }, "the refused cases are refused")
        // The seven successes went the fast way, twice each but for the first use of the reader's key (a query string
        // goes to the router).
        #expect(fastAnswers.withLock { $0 } == [true: 13, false: 0])
    }

    /// Which requests the fast path may take at all: the rest go to the router as they came.
    @Test func onlyPlainQueriesAreHeldForTheFastPath() throws {
        let project = "1afba2ff-34d7-4425-9cff-17562bf64207"
        func head(_ method: HTTPRequest.Method = .post, _ path: String = "/data/\(project)/books/query", _ fields: [(String, String)] = []) -> HTTPRequest {
            var headers: HTTPFields = [HTTPField.Name("Api-Key")!: "k", .contentLength: "100"]
            for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
            return HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headers)
        }
        #expect(FastQueries.key(of: head(), maxRequestBytes: 100) == "k")
        #expect(FastQueries.key(of: head(.post, "/data/\(project)/books/query", [("Connection", "Keep-Alive")]), maxRequestBytes: 100) == "k")
        var repeated = head()
        repeated.headerFields.append(HTTPField(name: HTTPField.Name("Api-Key")!, value: "k"))
        #expect(FastQueries.key(of: repeated, maxRequestBytes: 100) == "k")
        let passedOn: [(String, HTTPRequest)] = [
            ("a GET", head(.get)),
            ("another route", head(.post, "/data/\(project)/books/vectors/upsert")),
            ("a query string", head(.post, "/data/\(project)/books/query?x=1")),
            ("a percent-encoded name", head(.post, "/data/\(project)/bo%6Fks/query")),
            ("an upper-case name", head(.post, "/data/\(project)/Books/query")),
            ("an extra segment", head(.post, "/data/\(project)/books/query/more")),
            ("a connection the request closes", head(.post, "/data/\(project)/books/query", [("Connection", "close")])),
            ("an Expect header", head(.post, "/data/\(project)/books/query", [("Expect", "100-continue")])),
            ("a body over the limit", head(.post, "/data/\(project)/books/query", [("Content-Length", "101")])),
            ("a length that is no number", head(.post, "/data/\(project)/books/query", [("Content-Length", "ten")])),
        ]
        for (what, request) in passedOn {
            #expect(FastQueries.key(of: request, maxRequestBytes: 100) == nil, "\(what)")
        }
        for field in [HTTPField.Name("Api-Key")!, .contentLength] {
            var request = head()
            request.headerFields[field] = nil
            #expect(FastQueries.key(of: request, maxRequestBytes: 100) == nil, "without \(field)")
        }
        for (name, value) in [("Api-Key", "other"), ("Content-Length", "100")] {
            var request = head()
            request.headerFields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
            #expect(FastQueries.key(of: request, maxRequestBytes: 100) == nil, "a second \(name)")
        }
    }

    /// The fast path's `Date` header is RFC 9110's IMF-fixdate, as Hummingbird writes it (expected values from
    /// Python's `email.utils.formatdate(t, usegmt=True)`).
    @Test func datesAreWrittenAsHTTPWantsThem() {
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(1_796_533_799) == "Sun, 06 Dec 2026 05:09:59 GMT")
    }

    /// A deleted key, a deleted index and a role taken away stop working on the very next query, fast path or not.
    @Test func aChangeInTheCatalogReachesTheNextQuery() async throws {
        try await TestServer.run(configure: Self.withoutPeriodicCommits()) { server, client in
            let project = try #require(server.bootstrap).projectID
            let key = try await server.sqliteCatalog.createAPIKey(projectID: project, name: "short-lived", roles: [.dataPlaneViewer])
            #expect(try await client.createIndex("gone").status == 201)
            let query = "/data/\(project.lowercasedString)/gone/query"
            let body = #"{"topK":1,"vector":[1,0,0]}"#
            #expect(try await client.call(.post, query, key: key.value, body: body).status == 200)
            #expect(try await client.call(.post, query, key: key.value, body: body).status == 200)
            #expect(Self.fastPathAnswers(server) == 1, "the first query read the catalog through the router; the second was answered fast")
            #expect(try await client.admin(.delete, "/admin/api-keys/\(key.id.lowercasedString)", token: try await client.token()).status == 202)
            #expect(try await client.call(.post, query, key: key.value, body: body).status == 401)
            #expect(try await client.call(.post, query, body: body).status == 200)
            #expect(try await client.call(.delete, "/indexes/gone").status == 202)
            #expect(try await client.call(.post, query, body: body).status == 404)
            #expect(Self.fastPathAnswers(server) == 1)
        }
    }

    /// On the private listener the fast path holds a query to the project's private endpoints as the router does: a
    /// network no endpoint admits is refused however warm the caches are, and an admitted one is answered fast.
    @Test func onThePrivateListenerOnlyAdmittedNetworksAreAnswered() async throws {
        try await TestServer.run(configure: Self.withoutPeriodicCommits { $0.privateListener = PrivateListener(host: "127.0.0.1", port: 0) }) { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let owner = try await client.token()
            let endpoints = "/admin/projects/\(project)/private-endpoints"
            #expect(try await client.createIndex("inside").status == 201)
            let data = "/data/\(project)/inside"
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"v","values":[1,0,0]}]}"#).status == 200)
            let elsewhere = #"{"name":"elsewhere","region":"us-east-1","allowed_cidrs":["10.0.0.0/8"]}"#
            #expect(try await client.admin(.post, endpoints, token: owner, body: elsewhere).status == 201)
            let described = try await client.call(.get, "/indexes/inside", version: "2026-07")
            let privateHost = try #require(described.json["private_host"] as? String, "\(described.text)")
            let port = try #require(URL(string: privateHost)?.port)
            let query = #"{"topK":1,"vector":[1,0,0]}"#
            let request = "POST \(data)/query HTTP/1.1\r\nHost: 127.0.0.1\r\nApi-Key: \(TestServer.bootstrapKey)\r\nContent-Length: \(query.utf8.count)\r\n\r\n\(query)"
            #expect(try await client.call(.post, "\(data)/query", body: query).status == 200)  // caches key and index
            let before = Self.fastPathAnswers(server)
            // One request at a time: on one connection a query waits behind an answer the router owes.
            func send() async throws -> (status: Int, body: String) { try await RawConnection(port: port).exchange(request, answers: 1)[0] }
            let refused = [try await send(), try await send()]
            #expect(refused.map(\.status) == [403, 403], "\(refused)")
            #expect(Self.fastPathAnswers(server) == before, "a refusal is the router's")
            let office = #"{"name":"office","region":"us-east-1","allowed_cidrs":["127.0.0.0/8"]}"#
            #expect(try await client.admin(.post, endpoints, token: owner, body: office).status == 201)
            let answered = [try await send(), try await send(), try await send()]
            #expect(answered.map(\.status) == [200, 200, 200] && answered.allSatisfy { $0.body.contains("\"v\"") }, "\(answered)")
            #expect(Self.fastPathAnswers(server) == before + 2, "the first read the catalog again after the endpoint was added")
        }
    }

    /// On one connection, answers leave in the order their requests came, whichever path answers them.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID
            #expect(try await client.createIndex("piped").status == 201)
            let data = "/data/\(project.lowercasedString)/piped"
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"v","values":[1,0,0]}]}"#).status == 200)
            #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":1,"vector":[1,0,0]}"#).status == 200)  // caches key and index
            let port = try #require(client.port)
            func request(_ path: String, _ body: String) -> String {
                "POST \(data)/\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nApi-Key: \(TestServer.bootstrapKey)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            let query = request("query", #"{"topK":1,"vector":[1,0,0]}"#)
            let stats = request("describe_index_stats", "{}")
            let bad = request("query", #"{"topK":0,"vector":[1,0,0]}"#)
            let answers = try await RawConnection(port: port).exchange(query + stats + query + bad + query, answers: 5)
            #expect(answers.map(\.status) == [200, 200, 200, 400, 200])
            #expect(answers[0].body.contains("\"matches\"") && answers[1].body.contains("\"dimension\"") && answers[2].body.contains("\"matches\""))
            #expect(answers[3].body.contains("topK") && answers[4].body.contains("\"matches\""))
        }
    }

    /// A server whose usage ledger is written only when it stops: no commit of its own empties the catalog's cache
    /// during the test, so which path answers each query does not depend on the test's pace.
    static func withoutPeriodicCommits(_ more: @escaping (inout ServerConfiguration) -> Void = { _ in }) -> (inout ServerConfiguration) -> Void {
        { configuration in
            configuration.usageFlushInterval = .seconds(86_400)
            more(&configuration)
        }
    }

    /// A graceful shutdown that begins while a query is held back waits for it: the quiesce event reaches
    /// Hummingbird's connection handler (which closes an idle connection at once) only after the query's answer, or
    /// after the query was passed on to it.
    @Test func aShutdownWaitsForTheHeldQuery() async throws {
        try await TestServer.run(configure: Self.withoutPeriodicCommits()) { server, client in
            let data = "/data/\(try #require(server.bootstrap).projectID.lowercasedString)/calm"
            #expect(try await client.createIndex("calm").status == 201)
            let query = #"{"topK":1,"vector":[1,0,0]}"#
            #expect(try await client.call(.post, "\(data)/query", body: query).status == 200)  // caches key and index
            let unknownKey = "pcsk_unknown_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
            for (key, expected) in [
                (TestServer.bootstrapKey, ["write head", "write body", "write end", "quiesce"]),
                (unknownKey, ["read head", "read body", "read end", "quiesce"]),
            ] {
                let log = EventLog()
                let handlers = server.connectionHandlers(privateListener: nil, logger: Logger(label: "test"))
                let fastPath = try #require(handlers.last as? DataPlaneFastPath)
                let channel = EmbeddedChannel()
                try channel.pipeline.syncOperations.addHandlers([WriteRecorder(log: log), fastPath, ReadRecorder(log: log)])
                let head = HTTPRequest(
                    method: .post, scheme: nil, authority: nil, path: "\(data)/query",
                    headerFields: [HTTPField.Name("Api-Key")!: key, .contentLength: String(query.utf8.count)]
                )
                try channel.writeInbound(HTTPRequestPart.head(head))
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                #expect(log.events.isEmpty, "nothing passes while the query is held")
                try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: query)))
                try channel.writeInbound(HTTPRequestPart.end(nil))
                #expect(log.events == expected)
                _ = try? channel.finish()
            }
        }
    }

    static func fastPathAnswers(_ server: ConiferApplication) -> Int {
        let text = String(decoding: server.serverMetrics.exposition(), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("conifer_http_fast_path_answers_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }
}

/// A blocking TCP connection that sends bytes as they are and reads HTTP/1.1 answers with a Content-Length.
struct RawConnection {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        // A safety net, not a measure: a hung server fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect failed") }
    }

    /// Sends `text` in one write and reads `count` answers (status and body), on a thread of its own: the blocking
    /// reads must not hold one of the few threads the server's own tasks run on in tests.
    func exchange(_ text: String, answers count: Int) async throws -> [(status: Int, body: String)] {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try blockingExchange(text, answers: count) }) }.start()
        }
    }

    private func blockingExchange(_ text: String, answers count: Int) throws -> [(status: Int, body: String)] {
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw TestFailure("short send") }
        var received: [UInt8] = []
        var answers: [(Int, String)] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while answers.count < count {
            if let (answer, used) = Self.parse(received) {
                answers.append(answer)
                received.removeFirst(used)
                continue
            }
            let read = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard read > 0 else { throw TestFailure("connection ended after \(answers.count) answers") }
            received += buffer[..<read]
        }
        return answers
    }

    /// One complete answer at the start of `bytes`, and how many bytes it took.
    static func parse(_ bytes: [UInt8]) -> ((Int, String), Int)? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<end.lowerBound]
        let status = Int(head.split(separator: " ")[1]) ?? 0
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let headBytes = text[..<end.upperBound].utf8.count
        guard bytes.count >= headBytes + length else { return nil }
        return ((status, String(decoding: bytes[headBytes..<headBytes + length], as: UTF8.self)), headBytes + length)
    }
}

/// What reached either side of the fast path, in order.
final class EventLog {
    var events: [String] = []
}

/// Before the fast path (towards the socket): the answer's parts it writes.
final class WriteRecorder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    let log: EventLog
    init(log: EventLog) { self.log = log }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: log.events.append("write head")
        case .body: log.events.append("write body")
        case .end: log.events.append("write end")
        }
        context.write(data, promise: promise)
    }
}

/// After the fast path (where Hummingbird's handlers are): the request parts and events it passes on.
final class ReadRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    let log: EventLog
    init(log: EventLog) { self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: log.events.append("read head")
        case .body: log.events.append("read body")
        case .end: log.events.append("read end")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { log.events.append("quiesce") }
    }
}
