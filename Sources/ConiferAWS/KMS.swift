import Foundation

/// AWS KMS over its JSON protocol (`POST /`, `x-amz-target: TrentService.<Action>`): the two calls envelope
/// encryption needs. An encryption context binds each data key to what it protects: KMS refuses to decrypt
/// it under another context.
public struct KMSClient: Sendable {
    public let region: String
    public let endpoint: URL?
    public let transport: AWSTransport

    public init(region: String, endpoint: URL? = nil, transport: AWSTransport = AWSTransport()) {
        self.region = region
        self.endpoint = endpoint
        self.transport = transport
    }

    /// The region of a key ARN (`arn:aws:kms:<region>:<account>:key/<id>`), or nil for anything else.
    public static func region(ofKeyARN arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kms", !parts[3].isEmpty else { return nil }
        return String(parts[3])
    }

    /// A new 256-bit data key: its plaintext, and the same key encrypted under `keyID` (what is stored).
    public func generateDataKey(keyID: String, context: [String: String], credentials: AWSCredentials) async throws -> (plaintext: [UInt8], ciphertext: [UInt8]) {
        let reply = try await call("GenerateDataKey", ["KeyId": keyID, "KeySpec": "AES_256", "EncryptionContext": context], credentials: credentials)
        guard let plaintext = (reply["Plaintext"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let blob = (reply["CiphertextBlob"] as? String).flatMap({ Data(base64Encoded: $0) }), plaintext.count == 32
        else {
            throw AWSError(status: nil, code: nil, message: "KMS GenerateDataKey answered without a 32-byte key")
        }
        return (Array(plaintext), Array(blob))
    }

    /// The plaintext of a data key `generateDataKey` made, if the key it names is usable and the caller may
    /// use it; `keyID` pins the key (KMS refuses a blob of another key).
    public func decrypt(_ ciphertext: [UInt8], keyID: String, context: [String: String], credentials: AWSCredentials) async throws -> [UInt8] {
        let body: [String: Any] = ["CiphertextBlob": Data(ciphertext).base64EncodedString(), "KeyId": keyID, "EncryptionContext": context]
        let reply = try await call("Decrypt", body, credentials: credentials)
        guard let plaintext = (reply["Plaintext"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw AWSError(status: nil, code: nil, message: "KMS Decrypt answered without a plaintext")
        }
        return Array(plaintext)
    }

    private func call(_ action: String, _ body: [String: Any], credentials: AWSCredentials) async throws -> [String: Any] {
        guard let url = endpoint ?? URL(string: "https://kms.\(region).amazonaws.com/") else {
            throw AWSError(status: nil, code: nil, message: "No valid KMS URL for region \(region.prefix(64))")
        }
        let payload = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let signer = SigV4Signer(credentials: credentials, region: region, service: "kms")
        let data = try await transport.send(
            .POST, url, headers: [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "TrentService.\(action)")], body: payload, signer: signer
        )
        guard let reply = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AWSError(status: nil, code: nil, message: "KMS \(action) answered with something other than JSON")
        }
        return reply
    }
}
