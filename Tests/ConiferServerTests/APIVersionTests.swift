import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct APIVersionTests {
    @Test func headerNameIsCaseInsensitiveAndDuplicatesCountOnce() throws {
        var headers = HTTPFields()
        headers.append(HTTPField(name: HTTPField.Name("X-Pinecone-API-Version")!, value: "2025-10"))
        headers.append(HTTPField(name: HTTPField.Name("x-pinecone-api-version")!, value: "2025-10"))
        #expect(try APIVersion(headers: headers) == .v2025_10)
        #expect(try APIVersion(headers: [:]) == .v2025_04)
        var joined = HTTPFields()
        joined[HTTPField.Name("X-Pinecone-Api-Version")!] = "2026-07, 2026-07"
        #expect(try APIVersion(headers: joined) == .v2026_07)
    }

    @Test func conflictingOrUnknownVersionsAreRejected() {
        var conflicting = HTTPFields()
        conflicting.append(HTTPField(name: HTTPField.Name("X-Pinecone-Api-Version")!, value: "2025-04"))
        conflicting.append(HTTPField(name: HTTPField.Name("X-Pinecone-API-Version")!, value: "2026-07"))
        #expect(throws: ConiferError.self) { try APIVersion(headers: conflicting) }
        var unknown = HTTPFields()
        unknown[HTTPField.Name("X-Pinecone-Api-Version")!] = "2024-07"
        #expect(throws: ConiferError.self) { try APIVersion(headers: unknown) }
    }

    @Test func serverAnswersInTheRequestedDialect() async throws {
        try await TestServer.run { _, client in
            try await client.createIndex("dialects")
            let absent = try await client.call(.get, "/indexes/dialects")
            #expect(absent.json["spec"] != nil)
            let duplicated = try await client.call(
                .get, "/indexes/dialects",
                headers: [("X-Pinecone-Api-Version", "2026-07"), ("X-PINECONE-API-VERSION", "2026-07")]
            )
            #expect(duplicated.status == 200)
            #expect(duplicated.json["schema"] != nil)
            let unknown = try await client.call(.get, "/indexes", version: "2099-01")
            #expect(unknown.status == 400)
            #expect(unknown.errorCode == "INVALID_ARGUMENT")
        }
    }
}
