import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
/// taken as the IPv4 address they carry, so a dual-stack listener matches IPv4 CIDRs.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// From 4 or 16 bytes in network order.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            self.bytes = Array(bytes[12...])
        } else {
            self.bytes = bytes
        }
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address block in CIDR notation (`10.1.0.0/16`, `fd00::/8`); a bare address is a block of one.
public struct CIDRBlock: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses the notation; refuses host bits set outside the prefix (`10.1.2.3/16`), so what is stored is
    /// what matches.
    public init(_ text: String) throws(ConiferError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else {
            throw .invalidArgument("\(text.prefix(64)) is not a CIDR block (like 10.1.0.0/16 or fd00::/8).")
        }
        let bits = address.bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix), parts.count == 1 || parts[1].allSatisfy(\.isNumber) else {
            throw .invalidArgument("\(text.prefix(64)) has no prefix length between 0 and \(bits).")
        }
        self.address = address
        self.prefixLength = prefix
        guard contains(address), Self.masked(address.bytes, prefix) == address.bytes else {
            throw .invalidArgument("\(text.prefix(64)) has bits set after its prefix; did you mean \(IPAddress(bytes: Self.masked(address.bytes, prefix)))/\(prefix)?")
        }
    }

    /// Whether the address lies in the block (never across IPv4 and IPv6).
    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address.bytes, other.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if (mine ^ theirs) & mask != 0 { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(8, max(0, prefix - index * 8))
            return kept == 8 ? byte : byte & ~(0xFF >> UInt8(kept))
        }
    }
}

/// A private endpoint of a project: a network allowed to reach the project's indexes in one region through
/// the private listener, named by an AWS VPC endpoint id (PrivateLink, read from the PROXY protocol v2
/// header) or by address blocks.
public struct PrivateEndpoint: Sendable, Equatable {
    public var id: UUID
    public var projectID: UUID
    public var name: String
    public var region: String
    public var vpcEndpointID: String?
    public var allowedCIDRs: [CIDRBlock]
    public var createdAt: Date

    public init(id: UUID, projectID: UUID, name: String, region: String, vpcEndpointID: String?, allowedCIDRs: [CIDRBlock], createdAt: Date) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.region = region
        self.vpcEndpointID = vpcEndpointID
        self.allowedCIDRs = allowedCIDRs
        self.createdAt = createdAt
    }

    /// Private endpoints a project may have.
    public static let maxPerProject = 10

    /// Whether a connection from `source` (through VPC endpoint `vpcEndpointID`) is this endpoint's network.
    public func admits(source: IPAddress?, vpcEndpointID presented: String?) -> Bool {
        if let vpcEndpointID, let presented { return vpcEndpointID == presented }
        guard let source else { return false }
        return allowedCIDRs.contains { $0.contains(source) }
    }
}

/// Which listener a data-plane request came in on, and from where.
public enum NetworkOrigin: Sendable {
    /// The main listener.
    case publicListener
    /// The private listener: the connection's source (from the PROXY header when the listener expects one)
    /// and the AWS VPC endpoint id the header carried, if any.
    case privateListener(source: IPAddress?, vpcEndpointID: String?)
}

/// Who may reach an index's data plane from which network: the project's private endpoints and its
/// private-only setting, decided for each data-plane request after authentication.
public struct PrivateNetworkPolicy: Sendable {
    /// The project's endpoints in the index's region.
    public var endpoints: [PrivateEndpoint]
    /// The project's data plane answers only through its private endpoints.
    public var privateOnly: Bool

    public init(endpoints: [PrivateEndpoint], privateOnly: Bool) {
        self.endpoints = endpoints
        self.privateOnly = privateOnly
    }

    /// Refuses (403) a request from a network the project does not allow for the index.
    public func check(_ origin: NetworkOrigin, index: IndexDefinition) throws(ConiferError) {
        switch origin {
        case .publicListener:
            guard !privateOnly else {
                throw .permissionDenied(
                    "The project of index \(index.name) allows its data plane only through its private endpoints; use the index's private_host from a network of one of them."
                )
            }
        case .privateListener(let source, let vpcEndpointID):
            guard endpoints.contains(where: { $0.admits(source: source, vpcEndpointID: vpcEndpointID) }) else {
                let from = vpcEndpointID.map { "VPC endpoint \($0.prefix(64))" } ?? source.map { "address \($0)" } ?? "an unknown address"
                throw .permissionDenied(
                    "This network (\(from)) is not allowed to reach index \(index.name): no private endpoint of its project in region \(index.region) matches it."
                )
            }
        }
    }
}

extension IndexDefinition {
    /// Where the index runs: a serverless index's region, a pod or BYOC index's environment. Private
    /// endpoints are per region.
    public var region: String {
        switch deployment {
        case .serverless(_, let region): region
        case .pod(let environment, _, _, _, _), .byoc(let environment): environment
        }
    }
}
