import ConiferCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct ErrorMiddlewareTests {
    struct SecretLeakingError: Error, CustomStringConvertible {
        var description: String { "disk /var/lib/secret-path failed with key pcsk_abc" }
    }

    func application() -> some ApplicationProtocol {
        let router = Router(context: ConiferRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.get("/boom") { _, _ -> Response in throw SecretLeakingError() }
        router.get("/data/p/i/boom") { _, _ -> Response in throw SecretLeakingError() }
        router.get("/internal") { _, _ -> Response in throw ConiferError(.internalError, "sqlite said: table api_key is locked") }
        router.get("/conflict") { _, _ -> Response in throw ConiferError.alreadyExists("Resource x already exists.") }
        return Application(router: router)
    }

    @Test func unexpectedErrorsBecomeGeneric500s() async throws {
        try await application().test(.router) { client in
            for path in ["/boom", "/internal"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .internalServerError)
                    let body = String(buffer: response.body)
                    #expect(body == #"{"error":{"code":"INTERNAL","message":"Internal server error"},"status":500}"#)
                }
            }
            try await client.execute(uri: "/data/p/i/boom", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(String(buffer: response.body) == #"{"code":13,"details":[],"message":"Internal server error"}"#)
            }
        }
    }

    @Test func domainErrorsKeepTheirCodeAndMessage() async throws {
        try await application().test(.router) { client in
            try await client.execute(uri: "/conflict", method: .get) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body) == #"{"error":{"code":"ALREADY_EXISTS","message":"Resource x already exists."},"status":409}"#)
            }
        }
    }

    @Test func everyCodeMapsToAClientOrServerStatus() {
        for code in ConiferError.Code.allCases {
            let status = ErrorMapping.status(for: code).code
            #expect((400..<600).contains(status))
            #expect((1...16).contains(ErrorMapping.grpcCode(for: code)))
        }
        #expect(ErrorMapping.status(for: .unauthenticated) == .unauthorized)
        #expect(ErrorMapping.status(for: .forbidden) == .forbidden)
        #expect(ErrorMapping.grpcCode(for: .notFound) == 5)
        #expect(ErrorMapping.grpcCode(for: .unauthenticated) == 16)
    }
}
