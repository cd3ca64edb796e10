import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// S3 objects as files: PutObject streamed from a file, GetObject streamed into one, DeleteObject. For backup
/// files of hundreds of megabytes, so neither side holds an object in memory. One PUT carries at most 5 GB (S3's
/// limit for a single request; multipart upload is not used).
extension S3Client {
    /// How long one object transfer may take, connecting included.
    static let transferTimeout = TimeAmount.minutes(30)
    static let chunkSize = 1 << 20

    /// Uploads `file` as `key`. The file is read twice: once for the SHA-256 that SigV4 signs (so S3 checks what
    /// it receives), once to send it.
    public func putObject(bucket: String, key: String, file: URL, credentials: AWSCredentials) async throws {
        let url = try requireURL(bucket: bucket, key: key)
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hash = SHA256()
        var length = 0
        while let chunk = try handle.read(upToCount: Self.chunkSize), !chunk.isEmpty {
            hash.update(data: chunk)
            length += chunk.count
        }
        try handle.seek(toOffset: 0)
        let chunks = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            do {
                while let chunk = try handle.read(upToCount: Self.chunkSize), !chunk.isEmpty { continuation.yield(ByteBuffer(bytes: chunk)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        _ = try await transport.execute(
            .PUT, url, headers: [("content-type", "application/octet-stream")],
            body: .stream(chunks, length: .known(Int64(length))), payloadHash: SigV4Signer.hex(hash.finalize()), signer: signer,
            timeout: Self.transferTimeout
        )
    }

    /// Downloads `key` into `file` (created, or replaced).
    public func getObject(bucket: String, key: String, to file: URL, credentials: AWSCredentials) async throws {
        let url = try requireURL(bucket: bucket, key: key)
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        let response = try await transport.execute(
            .GET, url, headers: [], body: .bytes(ByteBuffer()), payloadHash: SigV4Signer.payloadHash(Data()), signer: signer,
            timeout: Self.transferTimeout
        )
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        for try await buffer in response.body { try handle.write(contentsOf: Data(buffer.readableBytesView)) }
    }

    /// Deletes `key` (S3 answers 204 whether or not it existed).
    public func deleteObject(bucket: String, key: String, credentials: AWSCredentials) async throws {
        let url = try requireURL(bucket: bucket, key: key)
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        _ = try await transport.send(.DELETE, url, headers: [], body: Data(), signer: signer)
    }

    func requireURL(bucket: String, key: String) throws -> URL {
        guard let url = objectURL(bucket: bucket, key: key) else {
            throw AWSError(status: nil, code: nil, message: "No valid S3 URL for bucket \(bucket.prefix(64)) at \(endpoint?.absoluteString ?? region)")
        }
        return url
    }
}

/// S3 objects as small byte arrays, written only where absent, and listed: what an index store keeps (write-log
/// files, manifests, key files).
extension S3Client {
    /// Stores `body` as `key` unless an object already has that key (`If-None-Match: *`, which S3 and its
    /// compatible stores check atomically); false when one has.
    public func createObject(bucket: String, key: String, body: Data, credentials: AWSCredentials) async throws -> Bool {
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        do {
            _ = try await transport.send(
                .PUT, try requireURL(bucket: bucket, key: key), headers: [("content-type", "application/octet-stream"), ("if-none-match", "*")],
                body: body, signer: signer
            )
            return true
        } catch let error as AWSError where error.status == 412 || error.code == "PreconditionFailed" {
            return false
        }
    }

    /// The object's bytes, or nil when there is no such key.
    public func getObject(bucket: String, key: String, credentials: AWSCredentials) async throws -> Data? {
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        do {
            let response = try await transport.execute(
                .GET, try requireURL(bucket: bucket, key: key), headers: [], body: .bytes(ByteBuffer()), payloadHash: SigV4Signer.payloadHash(Data()),
                signer: signer, timeout: Self.transferTimeout
            )
            return Data(try await response.body.collect(upTo: Int.max).readableBytesView)
        } catch let error as AWSError where error.status == 404 {
            return nil
        }
    }

    /// Every key under `prefix`, ascending (ListObjectsV2, a page of up to 1,000 at a time).
    public func listObjects(bucket: String, prefix: String, credentials: AWSCredentials) async throws -> [String] {
        let signer = SigV4Signer(credentials: credentials, region: region, service: "s3")
        let bucketURL = try requireURL(bucket: bucket, key: "")
        var keys: [String] = []
        var continuation: String?
        repeat {
            var components = URLComponents(url: bucketURL, resolvingAgainstBaseURL: false)!
            var query = [URLQueryItem(name: "list-type", value: "2"), URLQueryItem(name: "prefix", value: prefix)]
            if let continuation { query.append(URLQueryItem(name: "continuation-token", value: continuation)) }
            // Percent-encoded as SigV4 canonicalizes it, so what is sent is what is signed.
            components.percentEncodedQuery = query.map { "\(SigV4Signer.encode($0.name))=\(SigV4Signer.encode($0.value ?? ""))" }.joined(separator: "&")
            guard let url = components.url else { throw AWSError(status: nil, code: nil, message: "No valid S3 list URL for bucket \(bucket.prefix(64))") }
            let text = String(decoding: try await transport.send(.GET, url, headers: [], body: Data(), signer: signer), as: UTF8.self)
            keys += XMLText.all("Key", in: text)
            continuation = XMLText.first("IsTruncated", in: text) == "true" ? XMLText.first("NextContinuationToken", in: text) : nil
        } while continuation != nil
        return keys.sorted()
    }
}
