import ConiferCore
import Hummingbird

/// Turns every error a route or the router throws into Pinecone's error shape for the request's plane.
/// Anything that is not a `ConiferError` is logged and answered with a 500 that says nothing internal.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let answer = ErrorMapping.domainError(error, request: request)
            if answer.code == .internalError {
                let detail = (error as? ConiferError)?.message ?? String(reflecting: type(of: error))
                context.logger.error("internal error", metadata: ["error": "\(detail)"])
            }
            if request.uri.path == "/console" || request.uri.path.hasPrefix("/console/") {
                return ConsolePages.error(answer, status: ErrorMapping.status(for: answer.code))
            }
            return ErrorMapping.response(for: answer, plane: APIPlane(path: request.uri.path))
        }
    }
}
