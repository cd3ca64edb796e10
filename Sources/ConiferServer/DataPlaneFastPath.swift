import ConiferAccess
import ConiferCore
import ConiferDatabase
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers a data-plane query on the event loop that read it, below Hummingbird's request pipeline (a task per
/// connection, the async channel bridge, the router and the middlewares: about a third of a served query's time
/// besides the engine), when nothing has to wait and nothing fails.
///
/// It answers only successes, after the same decisions in the same order as the route (`DataPlaneController`):
/// the API key's principal cached at the catalog's current version, the route's permission (`dataRead`), the index
/// open (the catalog's cached answer, its network policy for the listener and, on the private listener, the address
/// or VPC endpoint the connection's PROXY header names; the store open with its key lease running), the body
/// decoded and the query validated and within the plan's monthly units, a search that needs no scan thread, then
/// the rate limit. Everything before the rate limit changes nothing; when any step would wait or fail (a key or
/// index not cached, a 4xx, a 429, a long scan) the request goes on to the router unchanged, which answers it as
/// always — errors, denials and their audit events included — so no answer differs. Then the search, its units
/// and metrics, and the HTTP route's metrics, as the route records them.
///
/// Every other request passes through untouched. Answers leave in the order their requests came: while the
/// router owes an answer, queries go to the router too. A graceful shutdown's quiesce event waits while a query is
/// held back, so its connection closes after the answer, as Hummingbird's own handler closes one it is answering.
final class DataPlaneFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let queries: FastQueries
    /// The query being read (with its API key), held back from the router until it is answered or passed on.
    private var held: (head: HTTPRequest, key: String, body: ByteBuffer?)?
    /// Requests passed to the router whose answers it has not finished writing.
    private var owedByRouter = 0
    /// A graceful shutdown's quiesce event that came while a query was held back: passed on once the query is
    /// answered or passed on, so the connection closes after its answer, as Hummingbird closes one it is answering.
    private var quiesceHeld = false

    init(queries: FastQueries) {
        self.queries = queries
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if owedByRouter == 0, let key = queries.key(of: head) {
                held = (head, key, nil)
                return
            }
        case .body(var part):
            guard var query = held else { break }
            held = nil  // one owner of the buffer while it grows
            if query.body == nil { query.body = part } else { query.body!.writeBuffer(&part) }
            held = query
            return
        case .end(let trailers):
            guard let query = held else {
                owedByRouter += 1
                break
            }
            held = nil
            if trailers == nil, let (head, body) = queries.answer(query.head, key: query.key, body: query.body ?? ByteBuffer(), on: context.channel) {
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(body)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                owedByRouter += 1
                context.fireChannelRead(wrapInboundOut(.head(query.head)))
                if let body = query.body { context.fireChannelRead(wrapInboundOut(.body(body))) }
                context.fireChannelRead(data)
            }
            releaseQuiesce(context)
            return
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, held != nil {
            quiesceHeld = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func releaseQuiesce(_ context: ChannelHandlerContext) {
        guard quiesceHeld else { return }
        quiesceHeld = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { owedByRouter -= 1 }
        context.write(data, promise: promise)
    }
}

/// The queries `DataPlaneFastPath` answers, with the route's own parts: the controller's decoding, rate limits and
/// answer, the data-plane service's cached open and quick query, the catalog's cached principals.
struct FastQueries: Sendable {
    let controller: DataPlaneController
    let catalog: any Catalog
    /// The HTTP route metrics, when the server counts them.
    let metrics: ServerMetrics?
    let logger: Logger
    let dates = HTTPDate()

    static let route = "/data/:project_id/:index_name/query"
    /// The query route's row of the data plane's operations: the permission and rate class it is held to.
    static let operation = DataPlaneController.operations.first { $0.method == .post && $0.path == "query" }!

    /// The API key of a request head this path may answer: `POST /data/{project}/{index}/query` with one API key
    /// (or the same one repeated) and a body of declared length within the limit, on a connection the request does
    /// not close; nil for any other. The fields are read in one pass (each lookup by name is a walk of its own).
    func key(of head: HTTPRequest) -> String? { Self.key(of: head, maxRequestBytes: controller.maxRequestBytes) }

    static func key(of head: HTTPRequest, maxRequestBytes: Int) -> String? {
        guard head.method == .post, let path = head.path, address(path) != nil else { return nil }
        var key: String?
        var length: Int?
        for field in head.headerFields {
            switch field.name {
            case Authenticator.apiKeyHeader:
                guard key == nil || key == field.value else { return nil }
                key = field.value
            case .contentLength:
                guard length == nil, let declared = Int(field.value), declared <= maxRequestBytes else { return nil }
                length = declared
            case .connection:
                guard field.value.lowercased() == "keep-alive" else { return nil }
            case .expect:
                return nil
            default:
                continue
            }
        }
        return length == nil ? nil : key
    }

    /// The answer to a query that came on `channel` when every step succeeds without waiting; nil to pass the request
    /// to the router.
    func answer(_ head: HTTPRequest, key: String, body: ByteBuffer, on channel: any Channel) -> (HTTPResponse, ByteBuffer)? {
        let started = ContinuousClock.now
        let origin = controller.privateListener?.origin(of: channel) ?? .publicListener
        guard let principal = catalog.principalIfCached(apiKey: key),
              let pass = try? principal.authorize(Self.operation.permission), (try? APIVersion(headers: head.headerFields)) != nil,
              let address = head.path.flatMap(Self.address), let index = controller.service.openIfReady(pass, address, from: origin),
              body.readableBytes <= controller.maxRequestBytes,
              let request = try? RouteTable.decode(QueryRequestWire.self, from: body, allowedKeys: nil),
              let query = try? DataPlaneController.query(request), let quick = try? controller.service.quickQuery(index, query),
              (try? controller.take(Self.operation.rate, index, namespace: query.namespace)) != nil
        else { return nil }
        let status: HTTPResponse.Status
        let bytes: [UInt8]
        do {
            (status, bytes) = (.ok, try WireJSON.bytes(DataPlaneController.answer(request, quick.answer())))
        } catch {
            // As the router's error middleware answers and logs it (a non-finite score JSON cannot carry).
            logger.error("internal error", metadata: ["error": "\(error.message)"])
            let (code, body) = ErrorMapping.answer(for: ConiferError(.internalError, "Internal server error"), plane: .data)
            (status, bytes) = (code, Array(body))
        }
        metrics?.record(method: "POST", route: Self.route, status: Int(status.code), duration: .now - started)
        metrics?.fastPathAnswers.increment()
        let fields: HTTPFields = [
            .contentType: "application/json", .contentLength: String(bytes.count), .date: dates.now, .server: ConiferApplication.serverName,
        ]
        return (HTTPResponse(status: status, headerFields: fields), ByteBuffer(bytes: bytes))
    }

    /// The index a query path names: `/data/{project}/{index}/query`, the index name in the characters index names
    /// have (nothing percent-encoded), no query string.
    static func address(_ path: String) -> DataPlaneService.IndexAddress? {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1].elementsEqual("data".utf8), parts[4].elementsEqual("query".utf8), !parts[3].isEmpty,
              parts[3].allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") })
        else { return nil }
        return DataPlaneService.IndexAddress(projectID: String(Substring(parts[2])), name: String(Substring(parts[3])))
    }
}

/// The `Date` header's value (RFC 9110's IMF-fixdate), formatted once per second.
final class HTTPDate: Sendable {
    private let cache = Mutex<(second: Int, text: String)>((-1, ""))

    var now: String {
        let second = time(nil)
        return cache.withLock { cache in
            if cache.second != second { cache = (second, Self.format(second)) }
            return cache.text
        }
    }

    static func format(_ second: Int) -> String {
        var time = second
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
