import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// An AWS service answered with an error, or could not be reached. Its description, which is what callers see,
/// names the service's error code and HTTP status and Conifer's own words: never the upstream's answer body (an
/// endpoint could fill it with anything) and never a credential (SECURITY.md rule 13). What the upstream said is
/// kept in `detail`, for the operator's log only.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status, or nil when no answer came (connection refused, timeout).
    public var status: Int?
    /// AWS's error code (`AccessDenied`, `NoSuchBucket`, ...) when the answer had one shaped like one.
    public var code: String?
    /// Conifer's own account of the failure ("" when the status and code say it all).
    public var message: String
    /// What the upstream said, or the transport's error: for logs, never for callers.
    public var detail: String

    public init(status: Int?, code: String?, message: String, detail: String = "") {
        self.status = status
        self.code = code.flatMap { $0.wholeMatch(of: /[A-Za-z0-9.:_-]{1,64}/) != nil ? $0 : nil }
        self.message = message
        self.detail = detail
    }

    public var description: String {
        let answer = switch (status, code) {
        case (let status?, let code?): "\(code) (HTTP \(status))"
        case (let status?, nil): "HTTP \(status)"
        default: ""
        }
        return [answer, message].filter { !$0.isEmpty }.joined(separator: ": ")
    }
}

/// Sends signed requests to AWS-speaking endpoints over the process's `HTTPClient`.
public struct AWSTransport: Sendable {
    public let client: HTTPClient
    let timeout: TimeAmount

    /// Each request gives up after `timeoutSeconds`, connecting included.
    public init(client: HTTPClient = AWSTransport.processClient, timeoutSeconds: Int64 = 30) {
        self.client = client
        self.timeout = .seconds(timeoutSeconds)
    }

    /// The client of every AWS call in the process: it never follows a redirect (an AWS endpoint has no reason to
    /// send one, and following it would deliver a signed request wherever the answer points) and verifies
    /// certificates against the process's `AWS_CA_BUNDLE` (a PEM file) when it is set, the system's trust store
    /// otherwise. Made once, on first use, and never changed or released: a client must be shut down before it
    /// goes, and every server in a process has the process's trust settings (AsyncHTTPClient's own
    /// `HTTPClient.shared` is kept the same way).
    public static let processClient: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caBundle = ProcessInfo.processInfo.environment["AWS_CA_BUNDLE"], !caBundle.isEmpty { tls.trustRoots = .file(caBundle) }
        tls.minimumTLSVersion = .tlsv12
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
    }()

    /// Signs and sends one request; returns the body of a 2xx answer, throws `AWSError` otherwise.
    func send(_ method: HTTPMethod, _ url: URL, headers: [(name: String, value: String)], body: Data, signer: SigV4Signer) async throws -> Data {
        let response = try await execute(
            method, url, headers: headers, body: .bytes(ByteBuffer(bytes: body)), payloadHash: SigV4Signer.payloadHash(body), signer: signer,
            timeout: timeout
        )
        return Data(try await response.body.collect(upTo: 4 << 20).readableBytesView)
    }

    /// Signs and sends one request whose body is streamed (`payloadHash` is its SHA-256) and whose answer the
    /// caller reads; throws `AWSError` unless the answer is 2xx.
    func execute(
        _ method: HTTPMethod, _ url: URL, headers: [(name: String, value: String)], body: HTTPClientRequest.Body, payloadHash: String,
        signer: SigV4Signer, timeout: TimeAmount
    ) async throws -> HTTPClientResponse {
        let signed = signer.signedHeaders(method: method.rawValue, url: url, headers: headers, payloadHash: payloadHash)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        for header in signed where header.name != "host" { request.headers.add(name: header.name, value: header.value) }
        request.body = body
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            // The same words for a refused connection and a timeout (which one it was is for the log); a failed TLS
            // handshake is named, as the operator's certificate set-up is then what to check.
            // (AsyncHTTPClient wraps NIOSSL's errors, so the wording is what tells.)
            let tls = error is NIOSSLError || String(describing: error).localizedCaseInsensitiveContains("certificate")
            let reason = tls ? "the TLS handshake failed (check its certificate, and AWS_CA_BUNDLE)" : "could not be reached"
            throw AWSError(status: nil, code: nil, message: "\(signer.service) \(reason)", detail: "\(url.host ?? "?"): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let data = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
            // JSON-protocol services (KMS) answer `{"__type": "...#Code", "message": "..."}`; the others XML.
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let type = object["__type"] as? String {
                throw AWSError(
                    status: Int(response.status.code), code: String(type.split(separator: "#").last ?? Substring(type)), message: "",
                    detail: (object["message"] ?? object["Message"]) as? String ?? ""
                )
            }
            let text = String(decoding: data, as: UTF8.self)
            throw AWSError(status: Int(response.status.code), code: XMLText.first("Code", in: text), message: "", detail: XMLText.first("Message", in: text) ?? "")
        }
        return response
    }
}

/// The text of simple XML elements in AWS's answers (S3 and STS errors, STS credentials). Their elements hold
/// plain text, so a lookup by tag name is enough; entities are decoded.
enum XMLText {
    static func first(_ tag: String, in xml: String) -> String? {
        all(tag, in: xml, limit: 1).first
    }

    /// The text of every `tag` element, in document order (at most `limit`).
    static func all(_ tag: String, in xml: String, limit: Int = .max) -> [String] {
        var found: [String] = []
        var rest = xml.startIndex..<xml.endIndex
        while found.count < limit, let open = xml.range(of: "<\(tag)>", range: rest),
            let close = xml.range(of: "</\(tag)>", range: open.upperBound..<xml.endIndex)
        {
            found.append(decode(String(xml[open.upperBound..<close.lowerBound])))
            rest = close.upperBound..<xml.endIndex
        }
        return found
    }

    private static func decode(_ text: String) -> String {
        text
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Where an AWS service is reached: the standard AWS endpoint of a region, or an override (S3-compatible stores,
/// local test servers) from configuration or `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`.
public enum AWSEndpoint {
    public static func override(service: String, configured: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let text = configured ?? environment["AWS_ENDPOINT_URL_\(service.uppercased())"] ?? environment["AWS_ENDPOINT_URL"]
        return text.flatMap { $0.isEmpty ? nil : URL(string: $0) }
    }
}
