import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird

/// `POST /oauth/token`: the OAuth client-credentials grant for service accounts, with a JSON or form body.
/// Answers in OAuth's own error shape.
struct OAuthController {
    let catalog: any Catalog & AdminCatalog
    let tokens: TokenService

    func register(in routes: RouteTable) {
        routes.open(.post, "/oauth/token") { request, _ in try await token(request) }
    }

    func token(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let text = String(buffer: body)
        let form: TokenRequestWire
        do {
            if request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                form = try URLEncodedFormDecoder().decode(TokenRequestWire.self, from: text)
            } else {
                form = try JSONDecoder().decode(TokenRequestWire.self, from: Data(text.utf8))
            }
        } catch {
            return Self.error(.badRequest, "invalid_request", "The token request is not valid JSON or form data.")
        }
        guard form.grant_type == "client_credentials" else {
            return Self.error(.badRequest, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
        }
        if let audience = form.audience, audience != TokenService.audience {
            return Self.error(.forbidden, "access_denied", "Unknown audience.")
        }
        guard let clientID = form.client_id, let secret = form.client_secret,
              let account = try await catalog.authenticateServiceAccount(clientID: clientID, clientSecret: secret)
        else { return Self.error(.unauthorized, "access_denied", "Unauthorized") }
        let token = try await tokens.issue(serviceAccount: account.id, generation: account.generation)
        return WireJSON.response(status: .ok, TokenResponseWire(access_token: token, expires_in: Int(TokenService.lifetime)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ description: String) -> Response {
        WireJSON.response(status: status, OAuthErrorWire(error: code, error_description: description))
    }
}
