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
    final class Moto {
        let process = Process()
        let port: Int
        var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

        init() throws {
            port = Int.random(in: 20_000..<60_000)
            process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CONIFER_MOTO_SERVER"]!)
            process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Stops the server and waits for it. SIGKILL: a process started from the test runner inherits its
        /// blocked signal mask, so SIGTERM never arrives (moto keeps nothing worth a clean exit).
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit { stop() }

        /// One KMS call, unsigned (moto accepts any signature in its default mode): how a test sets keys up.
        func kms(_ action: String, _ body: [String: Any]) async throws -> [String: Any] {
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue("application/x-amz-json-1.1", forHTTPHeaderField: "content-type")
            request.setValue("TrentService.\(action)", forHTTPHeaderField: "x-amz-target")
            request.setValue("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0", forHTTPHeaderField: "authorization")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            for _ in 0..<100 {
                if let (data, _) = try? await URLSession.shared.data(for: request) {
                    // DisableKey and EnableKey answer with `null`.
                    guard let object = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) else {
                        throw AWSError(status: nil, code: nil, message: "moto answered \(action) with \(String(decoding: data, as: UTF8.self).prefix(200))")
                    }
                    return object as? [String: Any] ?? [:]
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw AWSError(status: nil, code: nil, message: "moto did not start")
        }
    }

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
