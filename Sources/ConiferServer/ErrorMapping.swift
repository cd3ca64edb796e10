import ConiferCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

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

    /// The error a caller is answered with for anything a route or the router throws: a `ConiferError` as it
    /// is, the router's and NIO's errors as their domain codes, anything else (and any internal error's
    /// message) as a 500 that says nothing internal. The audit log records the same answer.
    static func domainError(_ error: any Error, request: Request) -> ConiferError {
        switch error {
        case let error as ConiferError:
            return error.code == .internalError ? ConiferError(.internalError, "Internal server error") : error
        case is NIOTooManyBytesError:
            return ConiferError(.payloadTooLarge, "The request body is larger than this endpoint accepts.")
        case let error as HTTPError where error.status == .notFound:
            return .notFound("Not found: \(request.method.rawValue) \(request.uri.path.prefix(200))")
        case let error as HTTPError where error.status == .contentTooLarge:
            return ConiferError(.payloadTooLarge, "The request body is larger than this endpoint accepts.")
        case let error as HTTPError where (400..<500).contains(error.status.code):
            return ConiferError(.invalidArgument, error.body ?? error.status.reasonPhrase)
        default:
            return ConiferError(.internalError, "Internal server error")
        }
    }

    static func response(for error: ConiferError, plane: APIPlane) -> Response {
        let (status, body) = answer(for: error, plane: plane)
        var response = WireJSON.response(status: status, body: body)
        if status == .tooManyRequests, response.headers[.retryAfter] == nil {
            response.headers[.retryAfter] = String(error.retryAfterSeconds ?? 1)
        }
        return response
    }

    /// The status and body of the answer to an error.
    static func answer(for error: ConiferError, plane: APIPlane) -> (HTTPResponse.Status, Data) {
        let status = status(for: error.code)
        // Error bodies hold only strings and integers, so encoding them cannot fail.
        let body: Data? = switch plane {
        case .control:
            try? WireJSON.encode(ControlPlaneErrorBody(error: .init(code: error.code.rawValue, message: error.message), status: status.code))
        case .data:
            try? WireJSON.encode(DataPlaneErrorBody(code: grpcCode(for: error.code), message: error.message, details: []))
        }
        return (status, body ?? Data())
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
