import ConiferCore
import Hummingbird
import NIOCore

/// Turns every error a route or the router throws into Pinecone's error shape for the request's plane.
/// Anything that is not a `ConiferError` is logged and answered with a 500 that says nothing internal.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let plane = APIPlane(path: request.uri.path)
            return ErrorMapping.response(for: Self.domainError(error, request: request, context: context), plane: plane)
        }
    }

    static func domainError(_ error: any Error, request: Request, context: Context) -> ConiferError {
        switch error {
        case let error as ConiferError:
            if error.code == .internalError {
                context.logger.error("internal error", metadata: ["error": "\(error.message)"])
                return ConiferError(.internalError, "Internal server error")
            }
            return error
        case is NIOTooManyBytesError:
            return ConiferError(.payloadTooLarge, "The request body is larger than this endpoint accepts.")
        case let error as HTTPError where error.status == .notFound:
            return .notFound("Not found: \(request.method.rawValue) \(request.uri.path.prefix(200))")
        case let error as HTTPError where error.status == .contentTooLarge:
            return ConiferError(.payloadTooLarge, "The request body is larger than this endpoint accepts.")
        case let error as HTTPError where (400..<500).contains(error.status.code):
            return ConiferError(.invalidArgument, error.body ?? error.status.reasonPhrase)
        default:
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return ConiferError(.internalError, "Internal server error")
        }
    }
}
