import ConiferCore
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// What a PROXY protocol header (haproxy.org/download/2.9/doc/proxy-protocol.txt) says of a connection: the
/// client's address as the proxy saw it, and the AWS VPC endpoint id an AWS Network Load Balancer adds for
/// PrivateLink connections (a v2 TLV of type 0xEA, subtype 0x01).
struct ProxyHeader: Sendable, Equatable {
    /// Nil for v1 `UNKNOWN`, v2 `LOCAL` (the proxy's own health checks) and v2 address families without one.
    var source: IPAddress?
    var vpcEndpointID: String?

    enum Parse: Equatable {
        /// Not enough bytes yet to decide.
        case needMore
        /// Not a valid header: the connection is closed.
        case invalid(String)
        /// A header of `length` bytes; what follows is the proxied stream.
        case header(ProxyHeader, length: Int)
    }

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// A v1 header is at most 107 bytes with its CRLF.
    static let v1MaxLength = 107
    static let awsTLV: UInt8 = 0xEA
    static let awsVPCEndpointID: UInt8 = 0x01

    /// Parses the header at the start of `bytes`.
    static func parse(_ bytes: some Collection<UInt8>) -> Parse {
        let bytes = Array(bytes.prefix(16 + Int(UInt16.max)))
        let v1Prefix = Array("PROXY ".utf8)
        if bytes.count < v2Signature.count {
            // Either signature must still be possible.
            let couldBeV1 = zip(bytes, v1Prefix).allSatisfy { $0 == $1 }
            let couldBeV2 = zip(bytes, v2Signature).allSatisfy { $0 == $1 }
            return couldBeV1 || couldBeV2 ? .needMore : .invalid("the connection does not start with a PROXY protocol header")
        }
        if Array(bytes.prefix(12)) == v2Signature { return parseV2(bytes) }
        if Array(bytes.prefix(6)) == v1Prefix { return parseV1(bytes) }
        return .invalid("the connection does not start with a PROXY protocol header")
    }

    /// `PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>\r\n` or `PROXY UNKNOWN …\r\n`.
    private static func parseV1(_ bytes: [UInt8]) -> Parse {
        guard let end = bytes.prefix(v1MaxLength).indices.first(where: { bytes[$0] == 0x0D && $0 + 1 < bytes.count && bytes[$0 + 1] == 0x0A }) else {
            return bytes.count >= v1MaxLength ? .invalid("a PROXY v1 header longer than 107 bytes") : .needMore
        }
        guard let line = String(bytes: bytes[..<end], encoding: .ascii) else { return .invalid("a PROXY v1 header that is not ASCII") }
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        let length = end + 2
        if fields.count >= 2, fields[1] == "UNKNOWN" { return .header(ProxyHeader(source: nil), length: length) }
        guard fields.count == 6, fields[1] == "TCP4" || fields[1] == "TCP6" else {
            return .invalid("a PROXY v1 header that is not TCP4, TCP6 or UNKNOWN with two addresses and two ports")
        }
        guard let source = IPAddress(fields[2]), let destination = IPAddress(fields[3]),
              fields[1] == "TCP6" || source.bytes.count == 4, source.bytes.count == destination.bytes.count,
              let sourcePort = UInt16(fields[4]), UInt16(fields[5]) != nil, String(sourcePort) == fields[4]
        else { return .invalid("a PROXY v1 header with malformed addresses or ports") }
        return .header(ProxyHeader(source: source), length: length)
    }

    /// 12-byte signature, version and command, family and protocol, 16-bit length, addresses, then TLVs.
    private static func parseV2(_ bytes: [UInt8]) -> Parse {
        guard bytes.count >= 16 else { return .needMore }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { return .invalid("a PROXY v2 header of another version") }
        let command = versionCommand & 0x0F
        guard command <= 1 else { return .invalid("a PROXY v2 header with an unknown command") }
        let family = bytes[13]
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count >= 16 + length else { return .needMore }
        let body = bytes[16..<(16 + length)]
        let addressLength: Int
        switch family >> 4 {
        case 0: addressLength = 0  // AF_UNSPEC
        case 1: addressLength = 12  // AF_INET: two addresses, two ports
        case 2: addressLength = 36  // AF_INET6
        case 3: addressLength = 216  // AF_UNIX
        default: return .invalid("a PROXY v2 header with an unknown address family")
        }
        guard length >= addressLength else { return .invalid("a PROXY v2 header too short for its addresses") }
        var header = ProxyHeader(source: nil)
        if command == 1 {
            switch family >> 4 {
            case 1: header.source = IPAddress(bytes: Array(body.prefix(4)))
            case 2: header.source = IPAddress(bytes: Array(body.prefix(16)))
            default: break
            }
        }
        // TLVs: type, 16-bit length, value; each must fit in what is left.
        var offset = body.startIndex + addressLength
        while offset < body.endIndex {
            guard body.endIndex - offset >= 3 else { return .invalid("a PROXY v2 header with a truncated TLV") }
            let type = body[offset]
            let valueLength = Int(body[offset + 1]) << 8 | Int(body[offset + 2])
            let value = offset + 3
            guard body.endIndex - value >= valueLength else { return .invalid("a PROXY v2 header with a TLV longer than the header") }
            if type == awsTLV, valueLength >= 1, body[value] == awsVPCEndpointID {
                guard let id = String(bytes: body[(value + 1)..<(value + valueLength)], encoding: .ascii), !id.isEmpty else {
                    return .invalid("a PROXY v2 header with a malformed AWS VPC endpoint id")
                }
                // Two ids: which one a reader takes would decide which endpoint matches.
                guard header.vpcEndpointID == nil else { return .invalid("a PROXY v2 header with two AWS VPC endpoint ids") }
                header.vpcEndpointID = id
            }
            offset = value + valueLength
        }
        // LOCAL is the proxy's own connection (a health check): it carries no client, so nothing in it may
        // match an endpoint.
        if command == 0 { header = ProxyHeader(source: nil) }
        return .header(header, length: 16 + length)
    }
}

/// The PROXY headers of the private listener's open connections, by connection, for the requests on them.
/// One per private listener (made with it); only that listener's handlers add to it.
final class ProxiedConnections: Sendable {
    private let headers = Mutex<[ObjectIdentifier: ProxyHeader]>([:])

    func header(for connection: ObjectIdentifier) -> ProxyHeader? { headers.withLock { $0[connection] } }

    /// Where a request on the private listener comes from: what its connection's PROXY header said, else the
    /// connection's peer.
    func origin(of context: ConiferRequestContext) -> NetworkOrigin {
        origin(connection: context.connection, peer: context.sourceAddress)
    }

    /// The same for a connection's channel (the data-plane fast path, which answers below the router).
    func origin(of channel: any Channel) -> NetworkOrigin {
        origin(connection: ObjectIdentifier(channel), peer: channel.remoteAddress?.ipAddress ?? "unknown")
    }

    private func origin(connection: ObjectIdentifier, peer: String) -> NetworkOrigin {
        if let header = header(for: connection) {
            return .privateListener(source: header.source ?? IPAddress(peer), vpcEndpointID: header.vpcEndpointID)
        }
        return .privateListener(source: IPAddress(peer), vpcEndpointID: nil)
    }

    fileprivate func set(_ header: ProxyHeader, for channel: any Channel) {
        let key = ObjectIdentifier(channel)
        headers.withLock { $0[key] = header }
        channel.closeFuture.whenComplete { [self] _ in _ = headers.withLock { $0.removeValue(forKey: key) } }
    }
}

/// First on each connection of a listener that expects PROXY headers: closes a connection whose peer is not
/// one of the proxies (`--private-proxy-from`: a header is a claim about the client, believed only from the load
/// balancer), reads the header (closing a connection that does not start with a valid one, or has not sent it
/// within `deadline`), records it for the connection's requests, passes on what follows and leaves the pipeline.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered: ByteBuffer?
    private var timeout: Scheduled<Void>?
    private let logger: Logger
    private let deadline: TimeAmount
    private let proxies: [CIDRBlock]
    private let connections: ProxiedConnections

    init(logger: Logger, proxies: [CIDRBlock], connections: ProxiedConnections, deadline: TimeAmount = .seconds(10)) {
        self.logger = logger
        self.proxies = proxies
        self.connections = connections
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
        let peer = channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        guard let peer, proxies.contains(where: { $0.contains(peer) }) else {
            logger.notice("closed a connection to the private listener", metadata: [
                "reason": "its peer is not a proxy named by --private-proxy-from", "peer": "\(channel.remoteAddress?.ipAddress ?? "?")",
            ])
            context.close(promise: nil)
            return
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var buffered {
            buffered.writeBuffer(&incoming)
            self.buffered = buffered
        } else {
            buffered = incoming
        }
        guard let bytes = buffered else { return }
        switch ProxyHeader.parse(bytes.readableBytesView) {
        case .needMore:
            return
        case .invalid(let reason):
            logger.notice("closed a connection to the private listener", metadata: ["reason": "\(reason)"])
            buffered = nil
            context.close(promise: nil)
        case .header(let header, let length):
            connections.set(header, for: context.channel)
            var rest = bytes
            rest.moveReaderIndex(forwardBy: length)
            buffered = nil
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// A child channel that puts a `ProxyProtocolHandler` before everything else (TLS included) of its base.
struct ProxyProtocolChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let logger: Logger
    /// The load balancers' addresses.
    let proxies: [CIDRBlock]
    /// Where the headers read are kept for the requests.
    let connections: ProxiedConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ProxyProtocolHandler(logger: self.logger, proxies: self.proxies, connections: self.connections), position: .first)
        }.flatMap {
            self.base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
