@testable import ConiferAccess
import ConiferCore
import Foundation
import HummingbirdTesting
import Testing
@testable import ConiferServer

@Suite struct AuthenticationTests {
    @Test func healthNeedsNoCredentials() async throws {
        try await TestServer.run { _, client in
            let reply = try await client.call(.get, "/health", key: nil)
            #expect(reply.status == 200)
            #expect(reply.json["status"] as? String == "ok")
        }
    }

    @Test func missingAndUnknownKeysAre401InControlAndDataShapes() async throws {
        try await TestServer.run { server, client in
            let project = try #require(server.bootstrap).projectID.lowercasedString
            for key in [nil, "pcsk_unknown_0000000000000000000000000000000000000000000", "", "x y"] as [String?] {
                let control = try await client.call(.get, "/indexes", key: key)
                #expect(control.status == 401)
                #expect(control.errorCode == "UNAUTHENTICATED")
                #expect(control.json["status"] as? Int == 401)
                let data = try await client.call(.post, "/data/\(project)/any/query", key: key, body: "{}")
                #expect(data.status == 401)
                #expect(data.grpcCode == 16)
                #expect(data.json["details"] as? [Any] != nil)
            }
        }
    }

    @Test func twoDifferentKeysInOneRequestAreRefused() async throws {
        try await TestServer.run { server, client in
            // Both keys are valid on their own; together the request is ambiguous and refused.
            let project = try #require(server.bootstrap).projectID
            let second = try await server.sqliteCatalog.createAPIKey(projectID: project, name: "second", roles: [.projectEditor])
            #expect(try await client.call(.get, "/indexes", key: second.value).status == 200)
            #expect(try await client.call(.get, "/indexes").status == 200)
            let reply = try await client.call(.get, "/indexes", headers: [("Api-Key", second.value)])
            #expect(reply.status == 401)
            #expect(reply.errorCode == "UNAUTHENTICATED")
            // The same key twice is one credential.
            #expect(try await client.call(.get, "/indexes", headers: [("Api-Key", TestServer.bootstrapKey)]).status == 200)
        }
    }

    @Test func keyRolesLimitWhatItMayDo() async throws {
        try await TestServer.run { server, client in
            let catalog = server.sqliteCatalog
            let project = try #require(server.bootstrap).projectID
            let viewer = try await catalog.createAPIKey(projectID: project, name: "viewer", roles: [.controlPlaneViewer])
            let data = try await catalog.createAPIKey(projectID: project, name: "data", roles: [.dataPlaneEditor])
            try await client.createIndex("visible")
            #expect(try await client.call(.get, "/indexes", key: viewer.value).status == 200)
            #expect(try await client.call(.get, "/indexes/visible", key: viewer.value).status == 200)
            let denied = try await client.createIndex("nope", key: viewer.value)
            #expect(denied.status == 403)
            #expect(denied.errorCode == "PERMISSION_DENIED")
            #expect(try await client.call(.delete, "/indexes/visible", key: viewer.value).status == 403)
            #expect(try await client.call(.get, "/indexes", key: data.value).status == 403)
            #expect(try await client.call(.get, "/indexes/nope").status == 404)
            #expect(try await client.call(.get, "/indexes/visible").status == 200)
        }
    }
}
