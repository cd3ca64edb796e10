@testable import ConiferAWS
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// moto's server mode on a loopback port, from the `moto_server` that `CONIFER_MOTO_SERVER` names (scripts/test
/// sets it to the conformance virtualenv's): a real KMS- and S3-speaking server for these tests.
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

extension Moto {
    /// Makes a bucket (unsigned, as moto accepts), once moto answers.
    func createBucket(_ name: String) async throws {
        var request = URLRequest(url: url.appendingPathComponent(name))
        request.httpMethod = "PUT"
        request.setValue("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0", forHTTPHeaderField: "authorization")
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw AWSError(status: nil, code: nil, message: "moto did not make the bucket")
    }
}
