import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Connection options shared by the client subcommands.
struct ClientOptions: ParsableArguments {
    @Option(help: "Conifer server URL (env CONIFER_URL, default http://localhost:5080).")
    var url: String?

    @Option(help: "API key (env CONIFER_API_KEY).")
    var apiKey: String?

    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false

    func client() throws -> ServerClient {
        let environment = ProcessInfo.processInfo.environment
        guard let apiKey = apiKey ?? environment["CONIFER_API_KEY"], !apiKey.isEmpty else {
            throw ValidationError("An API key is required: pass --api-key or set CONIFER_API_KEY.")
        }
        let base = url ?? environment["CONIFER_URL"] ?? "http://localhost:5080"
        return ServerClient(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, credential: .apiKey(apiKey))
    }
}

/// A small HTTP client for Conifer's control plane. It speaks API version 2025-04, whose index model
/// carries dimension and metric at the top level.
struct ServerClient {
    enum Credential {
        case apiKey(String)
        case bearer(String)
        case none
    }

    let baseURL: String
    let credential: Credential

    /// A server answer: status and the decoded JSON (nil for an empty body).
    struct Reply {
        var status: Int
        var body: Any?
        var raw: Data
    }

    enum HTTPMethod: String {
        case GET, POST, PUT, PATCH, DELETE
    }

    func send(_ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil) async throws -> Reply {
        guard let url = URL(string: baseURL + path) else { throw ClientError("Not a valid URL: \(baseURL + path)") }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = method.rawValue
        switch credential {
        case .apiKey(let key): request.setValue(key, forHTTPHeaderField: "Api-Key")
        case .bearer(let token): request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        case .none: break
        }
        request.setValue(credential.isBearer ? "2026-07" : "2025-04", forHTTPHeaderField: "X-Pinecone-Api-Version")
        request.setValue("conifer-cli", forHTTPHeaderField: "User-Agent")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(body)
        }
        let raw: Data
        let status: Int
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            raw = data
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
        } catch {
            throw ClientError("Could not reach Conifer at \(baseURL): \(error.localizedDescription)")
        }
        let decoded = raw.isEmpty ? nil : try? JSONSerialization.jsonObject(with: raw)
        let reply = Reply(status: status, body: decoded, raw: raw)
        guard (200..<300).contains(reply.status) else {
            throw ClientError("Error \(reply.status): \(Self.message(from: reply))")
        }
        return reply
    }

    /// The message of a Pinecone error body in either shape, or the raw text.
    static func message(from reply: Reply) -> String {
        if let object = reply.body as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return message }
            if let message = object["message"] as? String { return message }
        }
        return String(decoding: reply.raw.prefix(500), as: UTF8.self)
    }
}

/// A failure the client reports as one line on stderr before exiting non-zero.
struct ClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ServerClient.Credential {
    var isBearer: Bool {
        if case .bearer = self { return true }
        return false
    }
}
