// ConiferAWS — what Conifer says to AWS-speaking services (S3, STS, KMS): Signature Version 4 request signing
// (this file, no I/O) and the clients that send the requests over AsyncHTTPClient (the one module besides the
// server that imports NIO, as its transport). Its allowed imports: docs/ARCHITECTURE.md.

import Crypto
import Foundation

/// Credentials from the standard sources (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) or from an STS AssumeRole answer. The secret is never logged or encoded anywhere
/// but into signatures.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The standard environment variables, if the key id and secret are both set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> AWSCredentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            return nil
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    /// Names the key, never the secret or the token.
    public var description: String { "AWSCredentials(\(accessKeyID))" }
}

/// AWS Signature Version 4 for one service in one region
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
///
/// The canonical request is the method, the URI-encoded path (encoded once for S3, twice for every other
/// service, as AWS specifies), the query parameters encoded and sorted, the headers lower-cased with
/// trimmed values (runs of spaces collapsed) and sorted, the signed header names, and the payload's
/// SHA-256. Paths are not normalized: Conifer signs the requests it builds itself. Checked against AWS's
/// published test vectors (SigV4Tests).
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of a payload in lower-case hex, as the `x-amz-content-sha256` header and the canonical
    /// request carry it.
    public static func payloadHash(_ payload: some DataProtocol) -> String {
        hex(SHA256.hash(data: payload))
    }

    /// The headers to send with a request: the given ones plus `host`, `x-amz-date`, for S3
    /// `x-amz-content-sha256`, with a session token `x-amz-security-token`, and `authorization`. Every
    /// header given is signed.
    public func signedHeaders(
        method: String, url: URL, headers: [(name: String, value: String)] = [], payloadHash: String, date: Date = Date()
    ) -> [(name: String, value: String)] {
        let amzDate = Self.timestamp(date)
        var all = headers
        if !all.contains(where: { $0.name.lowercased() == "host" }), let host = url.host {
            all.append(("host", url.port.map { "\(host):\($0)" } ?? host))
        }
        all.append(("x-amz-date", amzDate))
        if service == "s3" { all.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        let authorization = self.authorization(method: method, url: url, headers: all, payloadHash: payloadHash, amzDate: amzDate)
        return all + [("authorization", authorization)]
    }

    /// The `Authorization` header for a request whose headers (including `host` and `x-amz-date`) are final.
    func authorization(method: String, url: URL, headers: [(name: String, value: String)], payloadHash: String, amzDate: String) -> String {
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonical, signed) = canonicalRequest(method: method, url: url, headers: headers, payloadHash: payloadHash)
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signed), Signature=\(signature)"
    }

    /// The canonical request and the signed header names.
    func canonicalRequest(method: String, url: URL, headers: [(name: String, value: String)], payloadHash: String) -> (String, String) {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        // The path as sent (percent-encoded); S3 signs it as is, other services encode it again.
        var path = components?.percentEncodedPath ?? "/"
        if path.isEmpty { path = "/" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            let decoded = String(segment).removingPercentEncoding ?? String(segment)
            let once = Self.encode(decoded)
            return service == "s3" ? once : Self.encode(once)
        }
        var parameters: [(name: String, value: String)] = []
        for pair in (components?.percentEncodedQuery ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? "" }
            parameters.append((Self.encode(parts[0]), Self.encode(parts.count > 1 ? parts[1] : "")))
        }
        parameters.sort { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
            a.name != b.name ? a.name < b.name : a.value < b.value
        }
        let query = parameters.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var byName: [String: [String]] = [:]
        for header in headers {
            let value = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            byName[header.name.lowercased(), default: []].append(value)
        }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signed = names.joined(separator: ";")
        let request = [method, segments.joined(separator: "/"), query, canonicalHeaders, signed, payloadHash].joined(separator: "\n")
        return (request, signed)
    }

    /// RFC 3986 encoding: every byte but the unreserved characters as %XX (upper-case hex).
    static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
