import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird

/// Which error body a path answers with: Pinecone's control plane and Admin API use `ErrorResponse`,
/// the vector data plane uses gRPC-gateway `rpcStatus`.
enum APIPlane: Sendable {
    case control
    case data

    static let dataPathPrefix = "/data/"

    init(path: String) {
        self = path.hasPrefix(Self.dataPathPrefix) ? .data : .control
    }
}

/// The one place that turns a `ConiferError` into an HTTP status and body.
enum ErrorMapping {
    static func status(for code: ConiferError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidArgument: .badRequest
        case .unprocessableEntity: .unprocessableContent
        case .unauthenticated: .unauthorized
        case .paymentRequired: .init(code: 402, reasonPhrase: "Payment Required")
        case .permissionDenied, .forbidden, .quotaExceeded: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .alreadyExists: .conflict
        case .failedPrecondition: .preconditionFailed
        case .payloadTooLarge: .contentTooLarge
        case .resourceExhausted: .tooManyRequests
        case .internalError: .internalServerError
        case .unimplemented: .notImplemented
        case .unavailable: .serviceUnavailable
        }
    }

    /// The gRPC status code the data plane reports for each domain code.
    static func grpcCode(for code: ConiferError.Code) -> Int {
        switch code {
        case .invalidArgument, .unprocessableEntity, .payloadTooLarge: 3
        case .notFound: 5
        case .alreadyExists: 6
        case .permissionDenied, .forbidden: 7
        case .quotaExceeded, .resourceExhausted: 8
        case .failedPrecondition, .paymentRequired: 9
        case .unimplemented, .methodNotAllowed: 12
        case .internalError: 13
        case .unavailable: 14
        case .unauthenticated: 16
        }
    }

    /// The message a caller was given for an error, as the audit log records it (never internals).
    static func reason(_ error: any Error) -> String {
        guard let error = error as? ConiferError, error.code != .internalError else { return "Internal server error" }
        return error.message
    }

    static func response(for error: ConiferError, plane: APIPlane) -> Response {
        let status = status(for: error.code)
        // Error bodies hold only strings and integers, so encoding them cannot fail.
        let body: Data?
        switch plane {
        case .control:
            body = try? WireJSON.encode(ControlPlaneErrorBody(error: .init(code: error.code.rawValue, message: error.message), status: status.code))
        case .data:
            body = try? WireJSON.encode(DataPlaneErrorBody(code: grpcCode(for: error.code), message: error.message, details: []))
        }
        var response = WireJSON.response(status: status, body: body ?? Data())
        if status == .tooManyRequests, response.headers[.retryAfter] == nil {
            response.headers[.retryAfter] = "1"
        }
        return response
    }
}

/// `{"error":{"code":"NOT_FOUND","message":"…"},"status":404}`
struct ControlPlaneErrorBody: Encodable {
    struct Detail: Encodable {
        var code: String
        var message: String
    }

    var error: Detail
    var status: Int
}

/// `{"code":5,"message":"…","details":[]}`
struct DataPlaneErrorBody: Encodable {
    var code: Int
    var message: String
    var details: [String]
}
