import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// An AWS service answered with an error, or could not be reached. The message names the service's error
/// code and message (never a credential), for an operator to act on.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status, or nil when no answer came (connection refused, timeout).
    public var status: Int?
    /// AWS's error code (`AccessDenied`, `NoSuchBucket`, ...) when the answer had one.
    public var code: String?
    public var message: String

    public init(status: Int?, code: String?, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String {
        switch (status, code) {
        case (let status?, let code?): "\(code) (HTTP \(status)): \(message)"
        case (let status?, nil): "HTTP \(status): \(message)"
        default: message
        }
    }
}

/// Sends signed requests to AWS-speaking endpoints over one shared `HTTPClient`.
public struct AWSTransport: Sendable {
    public let client: HTTPClient
    let timeout: TimeAmount

    /// Each request gives up after `timeoutSeconds`, connecting included.
    public init(client: HTTPClient = .shared, timeoutSeconds: Int64 = 30) {
        self.client = client
        self.timeout = .seconds(timeoutSeconds)
    }

    /// A transport that verifies certificates against `AWS_CA_BUNDLE` (a PEM file) when the environment sets
    /// it, the system's trust store otherwise. Certificates are always verified.
    public init(environment: [String: String], timeoutSeconds: Int64 = 30) {
        self.init(client: Self.client(caBundle: environment["AWS_CA_BUNDLE"]), timeoutSeconds: timeoutSeconds)
    }

    /// One client per CA bundle, for the life of the process.
    private static let clients = Mutex<[String: HTTPClient]>([:])

    static func client(caBundle: String?) -> HTTPClient {
        guard let caBundle, !caBundle.isEmpty else { return .shared }
        return clients.withLock { clients in
            if let client = clients[caBundle] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caBundle)
            tls.minimumTLSVersion = .tlsv12
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            clients[caBundle] = client
            return client
        }
    }

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
            throw AWSError(status: nil, code: nil, message: "\(signer.service) at \(url.host ?? "?") unreachable: \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let data = Data(try await response.body.collect(upTo: 4 << 20).readableBytesView)
            // JSON-protocol services (KMS) answer `{"__type": "...#Code", "message": "..."}`; the others XML.
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let type = object["__type"] as? String {
                throw AWSError(
                    status: Int(response.status.code), code: String(type.split(separator: "#").last ?? Substring(type)),
                    message: (object["message"] ?? object["Message"]) as? String ?? response.status.reasonPhrase
                )
            }
            let text = String(decoding: data, as: UTF8.self)
            throw AWSError(
                status: Int(response.status.code), code: XMLText.first("Code", in: text),
                message: XMLText.first("Message", in: text) ?? response.status.reasonPhrase
            )
        }
        return response
    }
}

/// The text of simple XML elements in AWS's answers (S3 and STS errors, STS credentials). Their elements hold
/// plain text, so a lookup by tag name is enough; entities are decoded.
enum XMLText {
    static func first(_ tag: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(tag)>"), let close = xml.range(of: "</\(tag)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
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
