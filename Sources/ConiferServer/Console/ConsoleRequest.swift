import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird

/// What the web console reads from a browser's request: its session cookie, whether it came from the console's
/// own origin, and its form.
enum ConsoleRequest {
    static let cookieName = "conifer_session"
    static let formLimit = 64 * 1024

    /// The session cookie's value, when the request carries one.
    static func sessionSecret(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookieName {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// Refuses (403) a state-changing request that is not from a page of this server: its `Origin` must name the
    /// host it was sent to, and a browser's `Sec-Fetch-Site` must not say another site sent it. Browsers send
    /// `Origin` with every form POST, so a request without one did not come from a console page.
    static func requireSameOrigin(_ request: Request) throws(ConiferError) {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site) {
            throw .forbidden("The form was sent from another site.")
        }
        guard let origin = request.headers[HTTPField.Name("Origin")!], let host = request.head.authority,
              let url = URLComponents(string: origin), let originHost = url.host, ["http", "https"].contains(url.scheme ?? "")
        else { throw .forbidden("The form was sent from another site.") }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        guard originAuthority.lowercased() == host.lowercased() else { throw .forbidden("The form was sent from another site.") }
    }

    /// The `application/x-www-form-urlencoded` body, at most `formLimit` bytes; a repeated name keeps its last value.
    static func form(_ request: Request) async throws -> [String: String] {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw ConiferError.invalidArgument("The console takes forms (application/x-www-form-urlencoded).")
        }
        let body = try await request.body.collect(upTo: formLimit)
        return parse(String(buffer: body))
    }

    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            fields[name] = value
        }
        return fields
    }

    /// The `Set-Cookie` value that gives the browser its session: HttpOnly, SameSite=Strict, the console's path,
    /// Secure under TLS, for the session's absolute lifetime.
    static func sessionCookie(_ secret: String, secure: Bool, maxAge: TimeInterval) -> String {
        "\(cookieName)=\(secret); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(Int(maxAge))" + (secure ? "; Secure" : "")
    }

    /// The `Set-Cookie` value that removes it.
    static func clearedCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "")
    }
}
