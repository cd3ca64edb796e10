import CLibXML2
import Crypto
import Foundation

/// This server as a SAML service provider for one organization: its entity id and assertion consumer service
/// (ACS) URL, the metadata an identity provider imports, and AuthnRequests for the SP-initiated flow.
public struct SAMLServiceProvider: Sendable {
    public var entityID: String
    public var acsURL: String

    public init(entityID: String, acsURL: String) {
        self.entityID = entityID
        self.acsURL = acsURL
    }

    /// The SP's metadata: unsigned requests, signed assertions wanted, email NameIDs, the ACS with the
    /// HTTP-POST binding.
    public var metadata: String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="\(Self.escape(entityID))">
          <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:NameIDFormat>\(SAML.emailFormat)</md:NameIDFormat>
            <md:AssertionConsumerService Binding="\(SAML.postBinding)" Location="\(Self.escape(acsURL))" index="0" isDefault="true"/>
          </md:SPSSODescriptor>
        </md:EntityDescriptor>

        """
    }

    /// A new AuthnRequest to the identity provider at `ssoURL`: its ID (the response must answer it) and the
    /// URL of the HTTP-Redirect binding that carries it with `relayState`.
    public func authnRequest(ssoURL: String, relayState: String, now: Date) throws(SAMLError) -> (id: String, url: String) {
        let id = "_" + SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined()
        let xml = """
            <samlp:AuthnRequest xmlns:samlp="\(SAML.protocolNamespace)" xmlns:saml="\(SAML.assertion)" ID="\(id)" Version="2.0" \
            IssueInstant="\(Self.timestamp(now))" Destination="\(Self.escape(ssoURL))" \
            ProtocolBinding="\(SAML.postBinding)" AssertionConsumerServiceURL="\(Self.escape(acsURL))">\
            <saml:Issuer>\(Self.escape(entityID))</saml:Issuer>\
            <samlp:NameIDPolicy Format="\(SAML.emailFormat)" AllowCreate="true"/>\
            </samlp:AuthnRequest>
            """
        guard var components = URLComponents(string: ssoURL) else { throw SAMLError("The identity provider's SSO URL is not a URL.") }
        var query = components.percentEncodedQueryItems ?? []
        query.append(URLQueryItem(name: "SAMLRequest", value: Self.formEncode(try Self.deflate(Data(xml.utf8)).base64EncodedString())))
        query.append(URLQueryItem(name: "RelayState", value: Self.formEncode(relayState)))
        components.percentEncodedQueryItems = query
        guard let url = components.string else { throw SAMLError("The identity provider's SSO URL is not a URL.") }
        return (id, url)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Percent-encodes everything but unreserved characters (what a query value needs; `+` and `/` of base64 too).
    static func formEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    /// Raw DEFLATE (RFC 1951), as the HTTP-Redirect binding requires.
    static func deflate(_ input: Data) throws(SAMLError) -> Data {
        var stream = z_stream()
        guard conifer_deflate_init_raw(&stream) == Z_OK else { throw SAMLError("Could not compress the AuthnRequest.") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return CLibXML2.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw SAMLError("Could not compress the AuthnRequest.") }
        return Data(output.prefix(Int(stream.total_out)))
    }
}
