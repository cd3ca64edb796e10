@testable import ConiferAWS
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The KMS client against a real KMS-speaking server: moto's server mode, started here on loopback from the
/// `moto_server` that `CONIFER_MOTO_SERVER` names (scripts/test sets it to the conformance virtualenv's).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CONIFER_MOTO_SERVER"] != nil, "set CONIFER_MOTO_SERVER to moto_server's path"))
struct KMSClientTests {
    let credentials = AWSCredentials(accessKeyID: "AKIACONIFERTEST", secretAccessKey: "secret")

    @Test func dataKeysRoundTripAndAnotherKeyOrContextIsRefusedWithKMSCode() async throws {
        let moto = try Moto()
        defer { moto.stop() }
        let created = try await moto.kms("CreateKey", ["Description": "conifer test"])
        let arn = try #require((created["KeyMetadata"] as? [String: Any])?["Arn"] as? String)
        let client = KMSClient(region: "us-east-1", endpoint: moto.url)
        let context = ["conifer-index": "0b7c"]
        let key = try await client.generateDataKey(keyID: arn, context: context, credentials: credentials)
        #expect(key.plaintext.count == 32 && key.ciphertext != key.plaintext)
        #expect(try await client.decrypt(key.ciphertext, keyID: arn, context: context, credentials: credentials) == key.plaintext)

        // Another context or another key does not give the data key back; KMS's JSON error code comes through.
        await #expect(throws: AWSError.self) { try await client.decrypt(key.ciphertext, keyID: arn, context: ["conifer-index": "other"], credentials: credentials) }
        let other = try #require(((try await moto.kms("CreateKey", [:]))["KeyMetadata"] as? [String: Any])?["Arn"] as? String)
        let refused = await #expect(throws: AWSError.self) { try await client.decrypt(key.ciphertext, keyID: other, context: context, credentials: credentials) }
        #expect(refused?.code == "AccessDeniedException" && refused?.status == 400)
        // (moto 5.2.5 keeps decrypting under a disabled key, so DisableKey cannot be shown failing here.)
    }
}
