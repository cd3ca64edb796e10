// ConiferCore — domain values and the one domain error: records, metadata and filters, index definitions
// and rules, roles, permissions and principals, the authorization pass and action outcomes.
// No I/O; its allowed imports: docs/ARCHITECTURE.md.

/// The one domain error of Conifer: a code from Pinecone's error vocabulary and a message safe to show a client.
///
/// Layers below the server throw this; the server maps `code` to an HTTP status and body in one place.
public struct ConiferError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Pinecone's error codes (the `ErrorResponse.error.code` enum), plus the few HTTP-level cases
    /// every server needs.
    public enum Code: String, Sendable, CaseIterable {
        case invalidArgument = "INVALID_ARGUMENT"
        case unprocessableEntity = "UNPROCESSABLE_ENTITY"
        case unauthenticated = "UNAUTHENTICATED"
        case paymentRequired = "PAYMENT_REQUIRED"
        case permissionDenied = "PERMISSION_DENIED"
        case forbidden = "FORBIDDEN"
        case quotaExceeded = "QUOTA_EXCEEDED"
        case notFound = "NOT_FOUND"
        case methodNotAllowed = "METHOD_NOT_ALLOWED"
        case alreadyExists = "ALREADY_EXISTS"
        case failedPrecondition = "FAILED_PRECONDITION"
        case payloadTooLarge = "PAYLOAD_TOO_LARGE"
        case resourceExhausted = "RESOURCE_EXHAUSTED"
        case internalError = "INTERNAL"
        case unimplemented = "UNIMPLEMENTED"
        case unavailable = "UNAVAILABLE"
    }

    public let code: Code
    public let message: String
    /// Whole seconds a client should wait before retrying (`Retry-After`), for a rate limit.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func invalidArgument(_ message: String) -> ConiferError { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> ConiferError { .init(.notFound, message) }
    public static func alreadyExists(_ message: String) -> ConiferError { .init(.alreadyExists, message) }
    public static func forbidden(_ message: String) -> ConiferError { .init(.forbidden, message) }
    public static func permissionDenied(_ message: String) -> ConiferError { .init(.permissionDenied, message) }
    public static func unauthenticated(_ message: String) -> ConiferError { .init(.unauthenticated, message) }
    public static func failedPrecondition(_ message: String) -> ConiferError { .init(.failedPrecondition, message) }

    /// The answer for an index the caller cannot see, whether or not it exists elsewhere.
    public static func indexNotFound(_ name: String) -> ConiferError { .notFound("Index \(name) not found.") }
}
