@testable import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Every state-changing call and every denial reaches the action observer exactly once, with the actor
/// the route's decision saw, the route, the resource its path names, and how the call ended.
@Suite struct ActionObserverTests {
    actor Recorder: ActionObserver {
        var outcomes: [ActionOutcome] = []
        func observe(_ outcome: ActionOutcome) { outcomes.append(outcome) }
        /// The outcomes so far, reduced to actor, route, resource and result (the audit details are tested in AuditTrailTests).
        func drain() -> [ActionOutcome] {
            defer { outcomes = [] }
            return outcomes.map { ActionOutcome(actor: $0.actor, action: $0.action, resource: $0.resource, result: $0.result) }
        }
    }

    @Test func writesAndDenialsAreObservedOnceWithActorRouteResourceAndResult() async throws {
        let recorder = Recorder()
        try await TestServer.run(observer: recorder) { server, client in
            let boot = try #require(server.bootstrap)
            let project = boot.projectID.uuidString.lowercased()
            let bootKey = try #require(try await server.catalog.authenticate(apiKey: TestServer.bootstrapKey))
            guard case .apiKey(let bootKeyID, _) = bootKey.kind else { Issue.record("bootstrap key is not a key"); return }
            try await client.createIndex("observed", dimension: 2)
            let index = "/data/\(project)/observed"
            _ = await recorder.drain()

            #expect(try await client.call(.post, "\(index)/vectors/upsert", body: #"{"vectors":[{"id":"a","values":[1,0]}]}"#).status == 200)
            #expect(try await client.call(.post, "\(index)/query", body: #"{"topK":1,"vector":[1,0]}"#).status == 200)
            #expect(try await client.call(.post, "\(index)/vectors/upsert", body: #"{"vectors":[{"id":"b","values":[1]}]}"#).status == 400)
            var seen = await recorder.drain()
            let upsert = "POST /data/:project_id/:index_name/vectors/upsert"
            #expect(seen == [
                ActionOutcome(actor: .apiKey(bootKeyID), action: upsert, resource: ["project_id": project, "index_name": "observed"], result: .succeeded),
                ActionOutcome(actor: .apiKey(bootKeyID), action: upsert, resource: ["project_id": project, "index_name": "observed"], result: .failed(.invalidArgument)),
            ], "a read is not observed; a write is, whether it succeeds or fails")

            let viewer = try await server.sqliteCatalog.createAPIKey(projectID: boot.projectID, name: "viewer", roles: [.dataPlaneViewer])
            #expect(try await client.call(.post, "\(index)/vectors/delete", key: viewer.value, body: #"{"ids":["a"]}"#).status == 403)
            #expect(try await client.call(.get, "\(index)/vectors/fetch?ids=a", key: nil).status == 401)
            seen = await recorder.drain()
            #expect(seen == [
                ActionOutcome(actor: .apiKey(viewer.id), action: "POST /data/:project_id/:index_name/vectors/delete",
                              resource: ["project_id": project, "index_name": "observed"], result: .denied(.permissionDenied)),
                ActionOutcome(actor: .anonymous, action: "GET /data/:project_id/:index_name/vectors/fetch",
                              resource: ["project_id": project, "index_name": "observed"], result: .denied(.unauthenticated)),
            ], "denials are observed for reads and writes alike")

            let owner = try await client.token()
            seen = await recorder.drain()
            #expect(seen.map(\.action) == ["POST /oauth/token"] && seen.first?.result == .succeeded, "a sign-in is observed")
            let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"observed-project"}"#)
            #expect(created.status == 200)
            seen = await recorder.drain()
            #expect(seen.count == 1)
            #expect(seen.first?.action == "POST /admin/projects")
            #expect(seen.first?.result == .succeeded)
            if case .serviceAccount = seen.first?.actor {} else { Issue.record("the owner's token is a service account: \(String(describing: seen.first?.actor))") }
        }
    }
}
