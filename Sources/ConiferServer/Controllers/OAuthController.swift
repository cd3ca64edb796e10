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
        routes.open(.post, "/oauth/accept-invite") { request, _ in try await acceptInvite(request) }
    }

    /// Accepts an invite: the one-time token from `POST /admin/invites` and the new user's password.
    func acceptInvite(_ request: Request) async throws -> Response {
        let body = try await RouteTable.decode(AcceptInviteRequestWire.self, from: request, limit: 64 * 1024, allowedKeys: nil)
        let user = try await catalog.acceptInvite(token: body.token, password: body.password, name: body.name)
        return WireJSON.response(status: .ok, UserWire(user))
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
        if let audience = form.audience, audience != TokenService.audience {
            return Self.error(.forbidden, "access_denied", "Unknown audience.")
        }
        let subject: Identity.Kind
        let generation: Int
        switch form.grant_type {
        case "client_credentials":
            guard let clientID = form.client_id, let secret = form.client_secret,
                  let account = try await catalog.authenticateServiceAccount(clientID: clientID, clientSecret: secret)
            else { return Self.error(.unauthorized, "access_denied", "Unauthorized") }
            (subject, generation) = (.serviceAccount(account.id), account.generation)
        case "password":
            guard let email = form.username, let password = form.password,
                  let user = try await catalog.authenticateUser(email: email, password: password),
                  try await catalog.identity(user: user.id, generation: user.generation) != nil
            else { return Self.error(.unauthorized, "access_denied", "Unauthorized") }
            (subject, generation) = (.user(user.id), user.generation)
        default:
            return Self.error(.badRequest, "unsupported_grant_type", "grant_type must be client_credentials or password.")
        }
        let token = try await tokens.issue(for: subject, generation: generation)
        return WireJSON.response(status: .ok, TokenResponseWire(access_token: token, expires_in: Int(TokenService.lifetime)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ description: String) -> Response {
        WireJSON.response(status: status, OAuthErrorWire(error: code, error_description: description))
    }
}
