import ConiferCore
import ConiferKeys
import Crypto
import Foundation
import JWTKit

/// Issues and verifies the OAuth access tokens of the Admin API.
///
/// Tokens are ES256 JWTs signed by a key that exists only for this purpose and lives in the data directory
/// (`token-signing-key`, mode 0600, sealed under the server's data key); nothing else can mint them. Verification pins the algorithm (the
/// collection holds one ES256 key and nothing else), and checks issuer, audience and expiry. A token also
/// names the secret generation of its service account, so rotating the secret or deleting the account
/// revokes it on the next request.
public final class TokenService: Sendable {
    public static let issuer = "conifer"
    /// The audience the Pinecone SDKs request.
    public static let audience = "https://api.pinecone.io/"
    public static let lifetime: TimeInterval = 86_400

    private let keys: JWTKeyCollection

    private init(keys: JWTKeyCollection) {
        self.keys = keys
    }

    /// Loads the signing key from `directory`, sealed under `sealingKey`, creating it on first start. A key
    /// written in the clear by an earlier version is sealed and its clear copy removed.
    public static func open(directory: URL, sealingKey: SymmetricKey) async throws -> TokenService {
        let url = directory.appendingPathComponent("token-signing-key")
        let legacy = directory.appendingPathComponent("token-signing-key.pem")
        let fileManager = FileManager.default
        let key: ES256PrivateKey
        if fileManager.fileExists(atPath: url.path) {
            do {
                let pem = try SealedFile.read(url, key: sealingKey, purpose: .secret)
                key = try ES256PrivateKey(pem: String(decoding: pem, as: UTF8.self))
            } catch {
                throw ConiferError(.failedPrecondition, "The token signing key \(url.path) does not open: \(error)")
            }
        } else {
            key = fileManager.fileExists(atPath: legacy.path)
                ? try ES256PrivateKey(pem: String(decoding: try Data(contentsOf: legacy), as: UTF8.self)) : ES256PrivateKey()
            try DurableFile.write(SealedFile.seal(Array(key.pemRepresentation.utf8), key: sealingKey, purpose: .secret), to: url)
        }
        if fileManager.fileExists(atPath: legacy.path) { try fileManager.removeItem(at: legacy) }
        return await inMemory(key: key)
    }

    /// A service with a fresh key that lives only in memory (tests).
    public static func inMemory(key: ES256PrivateKey = ES256PrivateKey()) async -> TokenService {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key)
        return TokenService(keys: keys)
    }

    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        /// Not valid before; optional so that a token without it is judged by `exp` alone.
        var nbf: NotBeforeClaim?
        var jti: IDClaim
        /// The secret generation of the service account when the token was issued.
        var gen: Int

        func verify(using algorithm: some JWTAlgorithm) async throws {
            // A few seconds of leeway for clock skew, both ways.
            try exp.verifyNotExpired(currentDate: Date().addingTimeInterval(-5))
            try nbf?.verifyNotBefore(currentDate: Date().addingTimeInterval(5))
            try aud.verifyIntendedAudience(includes: TokenService.audience)
            guard iss.value == TokenService.issuer else {
                throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unknown issuer")
            }
        }
    }

    /// A token for a service account or a user; `generation` is its secret or password generation.
    /// (`audience` other than the SDKs' exists for tests of rejection.)
    public func issue(
        for subject: Identity.Kind, generation: Int, now: Date = Date(), notBefore: Date? = nil, audience: String = TokenService.audience
    ) async throws -> String {
        let sub = switch subject {
        case .serviceAccount(let id): "sa:\(id.lowercasedString)"
        case .user(let id): "user:\(id.lowercasedString)"
        }
        let claims = Claims(
            iss: .init(value: Self.issuer), sub: .init(value: sub), aud: .init(value: [audience]),
            exp: .init(value: now.addingTimeInterval(Self.lifetime)), iat: .init(value: now), nbf: .init(value: notBefore ?? now), jti: .init(value: UUID().uuidString), gen: generation
        )
        return try await keys.sign(claims)
    }

    /// The subject and generation a valid token names, or nil for any invalid token.
    public func verify(_ token: String) async -> (subject: Identity.Kind, generation: Int)? {
        guard token.utf8.count < 4096, let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        let parts = claims.sub.value.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let id = UUID(uuidString: String(parts[1])) else { return nil }
        switch parts[0] {
        case "sa": return (.serviceAccount(id), claims.gen)
        case "user": return (.user(id), claims.gen)
        default: return nil
        }
    }
}
