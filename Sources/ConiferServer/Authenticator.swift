import ConiferAccess
import ConiferCore
import Foundation
import Hummingbird
import HTTPTypes

/// Turns request credentials into a caller: an `Api-Key` (or an API key as `Authorization: Bearer`) into a
/// project principal, an `Authorization: Bearer` access token into an identity (and, with `X-Project-Id`,
/// into a principal in that project).
/// Every lookup goes to the catalog, so a deleted key, account or rotated secret stops working at once.
struct Authenticator: Sendable {
    let catalog: any Catalog
    let admin: any AdminCatalog
    let tokens: TokenService
    /// How long console sessions last.
    var consoleSessions = ConsoleSessionPolicy()

    static let apiKeyHeader = HTTPField.Name("Api-Key")!
    static let projectHeader = HTTPField.Name("X-Project-Id")!

    /// The caller of a control- or data-plane route.
    func principal(for request: Request) async throws -> Principal {
        let keys = request.headers[values: Self.apiKeyHeader]
        if let value = keys.first {
            guard keys.allSatisfy({ $0 == value }), let principal = try await catalog.authenticate(apiKey: value) else {
                throw ConiferError.unauthenticated("Invalid API key.")
            }
            return principal
        }
        if let header = request.headers[.authorization] {
            // `Authorization: Bearer <API key>`, as Prometheus sends it: a credential that is not an access
            // token (a JWT has three dot-separated parts) is taken for an API key.
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer", parts[1].split(separator: ".", omittingEmptySubsequences: false).count != 3 {
                guard let principal = try await catalog.authenticate(apiKey: String(parts[1])) else {
                    throw ConiferError.unauthenticated("Invalid API key.")
                }
                return principal
            }
            let identity = try await identity(for: request)
            guard let raw = request.headers[Self.projectHeader], let project = UUID(uuidString: raw) else {
                throw ConiferError.invalidArgument("A bearer token needs an X-Project-Id header naming the project to act in.")
            }
            // Only projects of the identity's own organization that it can see; any other id gets one answer.
            guard (try? await admin.project(project, for: identity.admit())) != nil else {
                throw ConiferError.permissionDenied("This principal has no access to project \(raw.prefix(64)).")
            }
            return identity.principal(inProject: project)
        }
        throw ConiferError.unauthenticated("Missing API key. Pass your API key in the Api-Key header.")
    }

    /// The decision of a `.projectAdmin` route: the project the path names (directly, or as the project of
    /// the API key it names) must be one the identity can see — otherwise 404, as if it did not exist — and
    /// the identity must hold `permission` there (403).
    func authorize(_ permission: Permission, _ identity: Identity, parameters: Parameters) async throws -> AdminPass {
        let project: UUID
        if let raw = parameters.get("project_id") {
            guard let id = UUID(uuidString: raw) else { throw ConiferError.notFound("Project \(raw.prefix(64)) not found.") }
            project = try await admin.project(id, for: identity.admit()).id
        } else if let raw = parameters.get("api_key_id") {
            guard let id = UUID(uuidString: raw) else { throw ConiferError.notFound("API key \(raw.prefix(64)) not found.") }
            project = try await admin.apiKey(id, for: identity.admit()).projectID
        } else {
            throw ConiferError(.internalError, "A project route names no project.")
        }
        return try identity.authorize(permission, inProject: project)
    }

    /// The caller of an Admin API route.
    func identity(for request: Request) async throws -> Identity {
        guard let header = request.headers[.authorization] else {
            throw ConiferError.unauthenticated("Missing bearer token. Get one from /oauth/token.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let claims = await tokens.verify(String(parts[1]))
        else { throw ConiferError.unauthenticated("Invalid or expired access token.") }
        let identity: Identity? = switch claims.subject {
        case .serviceAccount(let id): try await admin.identity(serviceAccount: id, generation: claims.generation)
        case .user(let id): try await admin.identity(user: id, generation: claims.generation)
        }
        guard let identity else { throw RevokedToken(subject: claims.subject) }
        return identity
    }

    /// The signed-in user of a console request's session cookie.
    func consoleIdentity(for request: Request) async throws -> Identity {
        guard let secret = ConsoleRequest.sessionSecret(request),
              let identity = try await admin.consoleSession(secret: secret, policy: consoleSessions, at: Date())
        else { throw ConiferError.unauthenticated("Sign in to the console.") }
        return identity
    }

    /// The organization of the account a revoked token names, while the account exists.
    func organization(of subject: Identity.Kind) async -> UUID? {
        try? await admin.organization(of: subject)
    }
}

/// A genuine, unexpired token whose account was deleted or whose secret or password changed since: refused
/// like any invalid token (401), but its subject is known, so the refusal is an audit event of that account.
struct RevokedToken: Error {
    let subject: Identity.Kind
    static let answer = ConiferError.unauthenticated("Invalid or expired access token.")
}
