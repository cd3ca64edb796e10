import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Private endpoints through the Admin API (their rules, plan, limit and audit events), the address blocks they
/// match, and the PROXY protocol parser of the private listener. The listeners themselves (which network gets
/// through, the SDK through `private_host`, PROXY headers over real sockets, network namespaces) are tested from
/// outside in conformance/test_private_endpoints.py.
@Suite struct PrivateEndpointTests {
    @Test func endpointsAreCreatedListedAndDeletedWithinTheirRulesAndAudited() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let endpoints = "/admin/projects/\(project)/private-endpoints"
            func list() async throws -> [[String: Any]] { try await client.admin(.get, endpoints, token: owner).json["data"] as? [[String: Any]] ?? [] }

            // Bad input: 400 (or 422 for a missing field), nothing stored.
            for body in [
                #"{"name":"e","region":"us-east-1"}"#,
                #"{"name":"e","region":"us-east-1","vpc_endpoint_id":"vpce-0123456789abcdef0","allowed_cidrs":["10.0.0.0/8"]}"#,
                #"{"name":"e","region":"us-east-1","vpc_endpoint_id":"vpc-123"}"#,
                #"{"name":"e","region":"us-east-1","allowed_cidrs":["10.1.2.3/16"]}"#,
                #"{"name":"e","region":"us-east-1","allowed_cidrs":["10.0.0.0/33"]}"#,
                #"{"name":"e","region":"us-east-1","allowed_cidrs":["example.com/8"]}"#,
                #"{"name":"e","region":"us-east-1","allowed_cidrs":[]}"#,
                #"{"name":"e","region":"US East","allowed_cidrs":["10.0.0.0/8"]}"#,
                #"{"name":"","region":"us-east-1","allowed_cidrs":["10.0.0.0/8"]}"#,
                #"{"name":"e","allowed_cidrs":["10.0.0.0/8"]}"#,
            ] {
                let reply = try await client.admin(.post, endpoints, token: owner, body: body)
                #expect([400, 422].contains(reply.status), "\(body): \(reply.text)")
            }
            let hint = try await client.admin(.post, endpoints, token: owner, body: #"{"name":"e","region":"us-east-1","allowed_cidrs":["10.1.2.3/16"]}"#)
            #expect(hint.message?.contains("did you mean 10.1.0.0/16") == true, "\(hint.text)")
            #expect(try await list().isEmpty)

            let office = try await client.admin(
                .post, endpoints, token: owner, body: #"{"name":"office","region":"us-east-1","allowed_cidrs":["10.1.0.0/16","fd00::/8"]}"#
            )
            #expect(office.status == 201, "\(office.text)")
            #expect(office.json["allowed_cidrs"] as? [String] == ["10.1.0.0/16", "fd00::/8"])
            #expect(office.json["vpc_endpoint_id"] == nil && office.json["project_id"] as? String == project)
            let link = try await client.admin(.post, endpoints, token: owner, body: #"{"name":"link","region":"us-east-1","vpc_endpoint_id":"vpce-0123456789abcdef0"}"#)
            #expect(link.json["vpc_endpoint_id"] as? String == "vpce-0123456789abcdef0" && link.json["allowed_cidrs"] == nil)
            #expect(try await list().compactMap { $0["name"] as? String } == ["office", "link"])
            let officeID = try #require(office.json["id"] as? String)
            #expect(try await client.admin(.get, "\(endpoints)/\(officeID)", token: owner).json["name"] as? String == "office")

            // At most ten per project.
            for i in 2..<10 {
                let made = try await client.admin(.post, endpoints, token: owner, body: #"{"name":"e\#(i)","region":"eu-west-1","allowed_cidrs":["192.0.2.\#(i)/32"]}"#)
                #expect(made.status == 201)
            }
            let eleventh = try await client.admin(.post, endpoints, token: owner, body: #"{"name":"e11","region":"eu-west-1","allowed_cidrs":["192.0.2.11"]}"#)
            #expect(eleventh.status == 403 && eleventh.errorCode == "QUOTA_EXCEEDED" && eleventh.message?.contains("(10)") == true, "\(eleventh.text)")
            #expect(try await list().count == 10)

            #expect(try await client.admin(.delete, "\(endpoints)/\(officeID)", token: owner).status == 202)
            #expect(try await client.admin(.get, "\(endpoints)/\(officeID)", token: owner).status == 404)
            #expect(try await client.admin(.delete, "\(endpoints)/\(officeID)", token: owner).status == 404)
            #expect(try await list().count == 9)

            // Newest first: the refused second delete, the delete, the creation.
            let events = try await client.admin(.get, "/admin/audit-events?resource_type=private-endpoints&limit=100", token: owner)
            let seen = (events.json["data"] as? [[String: Any]] ?? []).compactMap { $0["event"] as? [String: Any] }
                .filter { $0["resource_id"] as? String == officeID }
                .map { "\($0["action"] ?? "") \(($0["outcome"] as? [String: Any])?["result"] ?? "")" }
            #expect(seen == ["delete failure", "delete success", "create success"], "\(events.text.prefix(400))")

            // Private endpoints and private-only access are Enterprise features.
            let privateOnly = try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"private_endpoint_access_only":true}"#)
            #expect(privateOnly.json["private_endpoint_access_only"] as? Bool == true)
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.admin(.post, endpoints, token: owner, body: #"{"name":"s","region":"us-east-1","allowed_cidrs":["10.0.0.0/8"]}"#).status == 402)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"private_endpoint_access_only":true}"#).status == 402)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"private_endpoint_access_only":false}"#).status == 200)
        }
    }

    @Test func addressBlocksMatchTheirOwnFamilyOnly() throws {
        func matches(_ block: String, _ address: String) throws -> Bool { try CIDRBlock(block).contains(try #require(IPAddress(address))) }
        #expect(try matches("10.1.0.0/16", "10.1.200.7"))
        #expect(try !matches("10.1.0.0/16", "10.2.0.1"))
        #expect(try matches("10.1.0.0/16", "::ffff:10.1.0.9"), "IPv4-mapped IPv6 is the IPv4 address")
        #expect(try !matches("10.1.0.0/16", "fd00::1"))
        #expect(try matches("fd00:ab::/32", "fd00:ab:1::5"))
        #expect(try !matches("fd00:ab::/32", "fd00:ac::1"))
        #expect(try matches("0.0.0.0/0", "203.0.113.1"))
        #expect(try matches("10.1.2.128/25", "10.1.2.200"))
        #expect(try !matches("10.1.2.128/25", "10.1.2.127"))
        #expect(try CIDRBlock("192.0.2.1").description == "192.0.2.1/32")
        for bad in ["10.1.2.3/16", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8", "10.0.0.0/8/8", "fd00::/129", "", "/8", "10.0.0.0/ 8"] {
            #expect(throws: ConiferError.self, "\(bad)") { try CIDRBlock(bad) }
        }
    }

    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func v2(command: UInt8 = 0x21, family: UInt8 = 0x11, body: [UInt8]) -> [UInt8] {
        signature + [command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let ipv4Addresses: [UInt8] = [192, 0, 2, 44, 10, 0, 0, 1, 0x9C, 0x40, 0x01, 0xBB]

    static func awsTLV(_ id: String) -> [UInt8] {
        let value = [UInt8(0x01)] + Array(id.utf8)
        return [0xEA, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }

    @Test func proxyHeadersAreParsedAndMalformedOnesRefused() throws {
        // v1
        let v1 = Array("PROXY TCP4 192.0.2.9 10.0.0.1 40000 443\r\nGET /".utf8)
        #expect(ProxyHeader.parse(v1) == .header(ProxyHeader(source: IPAddress("192.0.2.9")), length: v1.count - 5))
        #expect(ProxyHeader.parse(Array("PROXY TCP6 fd00::7 fd00::1 1 2\r\n".utf8)) == .header(ProxyHeader(source: IPAddress("fd00::7")), length: 32))
        #expect(ProxyHeader.parse(Array("PROXY UNKNOWN\r\n".utf8)) == .header(ProxyHeader(source: nil), length: 15))
        #expect(ProxyHeader.parse(Array("PROXY TCP4 192.0.2".utf8)) == .needMore)
        #expect(ProxyHeader.parse(Array("PRO".utf8)) == .needMore)
        for bad in [
            "PROXY TCP4 192.0.2.9 10.0.0.1 40000\r\n", "PROXY TCP4 fd00::7 10.0.0.1 1 2\r\n", "PROXY TCP4 192.0.2.9 10.0.0.1 99999 443\r\n",
            "PROXY UDP4 192.0.2.9 10.0.0.1 1 2\r\n", "PROXY TCP4 192.0.2.9 10.0.0.1 01 2\r\n", "GET / HTTP/1.1\r\n\r\n",
            "PROXY " + String(repeating: "x", count: 120),
        ] {
            guard case .invalid = ProxyHeader.parse(Array(bad.utf8)) else { Issue.record("accepted \(bad.debugDescription)"); continue }
        }

        // v2
        let plain = Self.v2(body: Self.ipv4Addresses)
        #expect(ProxyHeader.parse(plain + Array("GET".utf8)) == .header(ProxyHeader(source: IPAddress("192.0.2.44")), length: plain.count))
        let linked = Self.v2(body: Self.ipv4Addresses + [0x04, 0x00, 0x01, 0x00] + Self.awsTLV("vpce-0123456789abcdef0"))
        #expect(ProxyHeader.parse(linked) == .header(ProxyHeader(source: IPAddress("192.0.2.44"), vpcEndpointID: "vpce-0123456789abcdef0"), length: linked.count))
        let ipv6 = Self.v2(family: 0x21, body: Array(repeating: 0, count: 15) + [1] + Array(repeating: 0, count: 16) + [0, 1, 0, 2])
        #expect(ProxyHeader.parse(ipv6) == .header(ProxyHeader(source: IPAddress("::1")), length: ipv6.count))
        let local = Self.v2(command: 0x20, family: 0x00, body: [])
        #expect(ProxyHeader.parse(local) == .header(ProxyHeader(source: nil), length: 16), "LOCAL: the proxy's own connection")
        // A LOCAL header carries no client: its addresses and VPC endpoint id match nothing.
        let localClaiming = Self.v2(command: 0x20, body: Self.ipv4Addresses + Self.awsTLV("vpce-0123456789abcdef0"))
        #expect(ProxyHeader.parse(localClaiming) == .header(ProxyHeader(source: nil), length: localClaiming.count))
        for cut in [5, 12, 15, 20, linked.count - 1] {
            #expect(ProxyHeader.parse(linked.prefix(cut)) == .needMore, "truncated at \(cut)")
        }
        let malformed: [[UInt8]] = [
            Self.v2(command: 0x11, body: Self.ipv4Addresses),  // version 1 in a v2 header
            Self.v2(command: 0x22, body: Self.ipv4Addresses),  // unknown command
            Self.v2(family: 0x51, body: Self.ipv4Addresses),  // unknown family
            Self.v2(body: Array(Self.ipv4Addresses.prefix(8))),  // too short for its addresses
            Self.v2(body: Self.ipv4Addresses + [0xEA, 0x00, 0x09, 0x01]),  // TLV longer than the header
            Self.v2(body: Self.ipv4Addresses + [0xEA, 0x00]),  // truncated TLV
            Self.v2(body: Self.ipv4Addresses + [0xEA, 0x00, 0x01, 0x01]),  // empty VPC endpoint id
            Self.v2(body: Self.ipv4Addresses + Self.awsTLV("vpce-0123456789abcdef0") + Self.awsTLV("vpce-0fedcba9876543210")),  // two ids
            Self.signature.prefix(11) + [0xFF],
        ]
        for header in malformed {
            guard case .invalid = ProxyHeader.parse(header) else { Issue.record("accepted \(header)"); continue }
        }
    }
}
