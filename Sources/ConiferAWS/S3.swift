import Foundation

/// S3 PutObject (and, in `S3Objects.swift`, objects as files), signed with SigV4. Addresses the bucket virtual-hosted on AWS
/// (`https://BUCKET.s3.REGION.amazonaws.com/KEY`) and path-style on an endpoint override (MinIO, moto:
/// `ENDPOINT/BUCKET/KEY`).
public struct S3Client: Sendable {
    public let region: String
    public let endpoint: URL?
    public let transport: AWSTransport

    public init(region: String, endpoint: URL? = nil, transport: AWSTransport = AWSTransport()) {
        self.region = region
        self.endpoint = endpoint
        self.transport = transport
    }

    public func putObject(bucket: String, key: String, body: Data, contentType: String, credentials: AWSCredentials) async throws {
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        _ = try await transport.send(.PUT, try requireURL(bucket: bucket, key: key), headers: [("content-type", contentType)], body: body, signer: signer)
    }

    /// The object's URL, each key segment percent-encoded as S3 signs it.
    func objectURL(bucket: String, key: String) -> URL? {
        let path = key.split(separator: "/", omittingEmptySubsequences: false).map { SigV4Signer.encode(String($0)) }.joined(separator: "/")
        if let endpoint {
            let base = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
            return URL(string: "\(base)/\(SigV4Signer.encode(bucket))/\(path)")
        }
        return URL(string: "https://\(bucket).s3.\(region).amazonaws.com/\(path)")
    }
}

/// STS AssumeRole (query protocol, version 2011-06-15): temporary credentials for a role, optionally with the
/// external id the role's trust policy requires.
public struct STSClient: Sendable {
    public let region: String
    public let endpoint: URL?
    public let transport: AWSTransport

    public init(region: String, endpoint: URL? = nil, transport: AWSTransport = AWSTransport()) {
        self.region = region
        self.endpoint = endpoint
        self.transport = transport
    }

    /// Temporary credentials and when they expire.
    public func assumeRole(
        roleARN: String, externalID: String?, sessionName: String, durationSeconds: Int = 3600, credentials: AWSCredentials
    ) async throws -> (credentials: AWSCredentials, expiration: Date) {
        var form = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN), ("RoleSessionName", sessionName),
            ("DurationSeconds", String(durationSeconds)),
        ]
        if let externalID { form.append(("ExternalId", externalID)) }
        let body = Data(form.map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&").utf8)
        guard let url = endpoint ?? URL(string: "https://sts.\(region).amazonaws.com/") else {
            throw AWSError(status: nil, code: nil, message: "No valid STS URL for region \(region.prefix(64))")
        }
        let signer = SigV4Signer(credentials: credentials, region: region, service: "sts")
        let answer = try await transport.send(
            .POST, url, headers: [("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body: body, signer: signer
        )
        let xml = String(decoding: answer, as: UTF8.self)
        guard let keyID = XMLText.first("AccessKeyId", in: xml), let secret = XMLText.first("SecretAccessKey", in: xml),
              let token = XMLText.first("SessionToken", in: xml)
        else { throw AWSError(status: 200, code: nil, message: "STS AssumeRole answered without credentials") }
        let expiration = XMLText.first("Expiration", in: xml).flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) }
            ?? XMLText.first("Expiration", in: xml).flatMap { try? Date.ISO8601FormatStyle().parse($0) }
            ?? Date().addingTimeInterval(TimeInterval(durationSeconds))
        return (AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token), expiration)
    }
}
