import ConiferAccess
import ConiferCore
import ConiferMail
import Foundation
import Testing
@testable import ConiferServer

/// Spend alerts through the Admin API, and their evaluation at times the test chooses: each fires once per billing
/// cycle at its threshold (an audit event and a message in the outbox), again after the cycle resets; the spike
/// alert fires at twice the previous cycle and cannot be deleted.
@Suite struct SpendAlertTests {
    static func utc(_ text: String) -> Date { try! Date.ISO8601FormatStyle(timeZone: .gmt).parse(text) }

    /// Read units worth `usd` at Standard's list price ($16 per million) in the hour of `at`.
    static func spend(_ usd: Double, at: String, organization: UUID, project: UUID) -> UsageEntry {
        let hour = Date(timeIntervalSince1970: floor(utc(at).timeIntervalSince1970 / 3600) * 3600)
        return UsageEntry(
            organizationID: organization, projectID: project, resourceID: UUID(), resourceName: "shelf", region: "us-east-1",
            sku: .readUnits, hour: hour, quantity: usd / 16 * 1_000_000
        )
    }

    @Test func alertsAreManagedByOwnersAndBillingAdmins() async throws {
        try await TestServer.run { server, client in
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            let owner = try await client.token()
            let billing = try await client.serviceAccount("billing", role: .billingAdmin, owner: owner).token
            let member = try await client.serviceAccount("member", role: .member, owner: owner).token
            let route = "/admin/organizations/\(organization)/spend-alerts"
            _ = try await server.admin.setPlan(.standard, organization: nil)

            // The spike alert is there from the start, first; no owner has an address yet (service accounts have none).
            let listed = try await client.admin(.get, route, token: billing)
            let spike = try #require((listed.json["data"] as? [[String: Any]])?.first, "\(listed.text)")
            #expect(spike["id"] as? String == "spike" && spike["type"] as? String == "spike" && spike["enabled"] as? Bool == true)
            let unaddressed = try await client.admin(.post, route, token: billing, body: #"{"amount_usd":50}"#)
            #expect(unaddressed.status == 400 && unaddressed.message?.contains("recipients") == true, "\(unaddressed.text)")

            let created = try await client.admin(.post, route, token: billing, body: #"{"amount_usd":50,"recipients":["ap@example.com","cfo@example.com"]}"#)
            #expect(created.status == 201 && created.json["amount_usd"] as? Double == 50 && created.json["type"] as? String == "spend", "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            for bad in [
                #"{"amount_usd":0,"recipients":["a@example.com"]}"#, #"{"amount_usd":-5,"recipients":["a@example.com"]}"#,
                #"{"amount_usd":1.234,"recipients":["a@example.com"]}"#,
                #"{"amount_usd":10,"recipients":["not an address"]}"#, #"{"amount_usd":10,"recipients":[]}"#,
                #"{"amount_usd":10,"recipients":["a@example.com"],"threshold":3}"#, #"{"recipients":["a@example.com"]}"#,
            ] {
                let refused = try await client.admin(.post, route, token: billing, body: bad)
                #expect(refused.status == 400 && refused.errorCode == "INVALID_ARGUMENT", "\(bad): \(refused.text)")
            }
            #expect(try await client.admin(.post, route, token: billing, body: #"{"amount_usd":"ten","recipients":["a@example.com"]}"#).status == 422)
            let changed = try await client.admin(.patch, "\(route)/\(id)", token: owner, body: #"{"amount_usd":75.5,"enabled":false}"#)
            #expect(changed.status == 200 && changed.json["amount_usd"] as? Double == 75.5 && changed.json["enabled"] as? Bool == false, "\(changed.text)")
            #expect(try await client.admin(.patch, "\(route)/\(id)", token: owner, body: #"{"recipients":["x"]}"#).status == 400)
            #expect(try await client.admin(.patch, "\(route)/\(id)", token: owner, body: "{}").status == 400)
            #expect(try await client.admin(.get, "\(route)/\(id)", token: owner).json["recipients"] as? [String] == ["ap@example.com", "cfo@example.com"])

            // The spike alert: readdressed and turned off, never given an amount, never deleted.
            let spikeChanged = try await client.admin(.patch, "\(route)/spike", token: billing, body: #"{"recipients":["ops@example.com"],"enabled":false}"#)
            #expect(spikeChanged.json["recipients"] as? [String] == ["ops@example.com"] && spikeChanged.json["enabled"] as? Bool == false, "\(spikeChanged.text)")
            #expect(try await client.admin(.patch, "\(route)/spike", token: billing, body: #"{"amount_usd":5}"#).status == 400)
            let undeletable = try await client.admin(.delete, "\(route)/spike", token: owner)
            #expect(undeletable.status == 400 && undeletable.message?.contains("cannot be deleted") == true, "\(undeletable.text)")
            #expect(try await client.admin(.get, "\(route)/spike", token: owner).json["recipients"] as? [String] == ["ops@example.com"])

            #expect(try await client.admin(.get, route, token: member).status == 403)
            #expect(try await client.admin(.post, route, token: member, body: #"{"amount_usd":5,"recipients":["a@example.com"]}"#).status == 403)
            #expect(try await client.admin(.delete, "\(route)/\(id)", token: member).status == 403)
            #expect(try await client.call(.get, route).status == 401)
            #expect(try await client.admin(.get, "\(route)/\(UUID().lowercasedString)", token: owner).status == 404)
            #expect(try await client.admin(.get, "\(route)/nonsense", token: owner).status == 404)

            #expect(try await client.admin(.delete, "\(route)/\(id)", token: billing).status == 202)
            #expect(try await client.admin(.get, "\(route)/\(id)", token: owner).status == 404)
            #expect((try await client.admin(.get, route, token: owner).json["data"] as? [[String: Any]])?.count == 1)

            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.get, route, token: owner).status == 402)
            #expect(try await client.admin(.post, route, token: owner, body: #"{"amount_usd":5,"recipients":["a@example.com"]}"#).status == 402)
        }
    }

    /// A $10 alert fires once when December's cost reaches $10 (not at $8, not again at $12), again in January once
    /// January reaches $10; the spike alert fires in January at twice December's total. Each firing is one audit
    /// event and one message to the alert's recipients.
    @Test func alertsFireOncePerCycleAtTheirThreshold() async throws {
        let mail = MailSettings(smtp: try SMTPServer(url: "smtp://mail.invalid:25"), from: "conifer@example.com", retryBase: .seconds(3600))
        try await TestServer.run(configure: { $0.mail = mail }) { server, client in
            let boot = try #require(server.bootstrap)
            let (organization, project) = (boot.organizationID, boot.projectID)
            let owner = try await client.token()
            _ = try await server.admin.setPlan(.standard, organization: nil)
            let route = "/admin/organizations/\(organization.lowercasedString)/spend-alerts"
            let created = try await client.admin(.post, route, token: owner, body: #"{"amount_usd":10,"recipients":["ap@example.com"]}"#)
            let id = try #require(created.json["id"] as? String, "\(created.text)")
            #expect(try await client.admin(.post, route, token: owner, body: #"{"amount_usd":1,"recipients":["off@example.com"],"enabled":false}"#).status == 201)
            #expect(try await client.admin(.patch, "\(route)/spike", token: owner, body: #"{"recipients":["ops@example.com"]}"#).status == 200)
            func spend(_ usd: Double, at: String) async throws {
                try await server.catalog.recordUsage([Self.spend(usd, at: at, organization: organization, project: project)])
            }
            func evaluate(_ at: String) async -> Int { await server.spendAlerts.evaluate(at: Self.utc(at)) }

            try await spend(8, at: "2026-12-03T10:00:00Z")
            #expect(await evaluate("2026-12-03T11:00:00Z") == 0)
            try await spend(4, at: "2026-12-09T10:00:00Z")
            #expect(await evaluate("2026-12-09T10:30:00Z") == 1)
            #expect(await evaluate("2026-12-09T11:00:00Z") == 0, "once per cycle")
            try await spend(30, at: "2026-12-20T10:00:00Z")
            #expect(await evaluate("2026-12-31T23:59:00Z") == 0, "no spike: November cost nothing")
            let december = try await client.admin(.get, "\(route)/\(id)", token: owner)
            #expect(december.json["last_fired_cycle"] as? String == "2026-12", "\(december.text)")

            // January: the cycle reset; December's total was $42, so the spike alert fires at $84.
            #expect(await evaluate("2027-01-01T00:30:00Z") == 0)
            try await spend(10, at: "2027-01-02T08:00:00Z")
            #expect(await evaluate("2027-01-02T09:00:00Z") == 1)
            try await spend(73, at: "2027-01-20T08:00:00Z")
            #expect(await evaluate("2027-01-20T09:00:00Z") == 0, "$83 is under twice December's $42")
            try await spend(1, at: "2027-01-21T08:00:00Z")
            #expect(await evaluate("2027-01-21T09:00:00Z") == 1)
            #expect(await evaluate("2027-01-31T09:00:00Z") == 0)
            #expect(try await client.admin(.get, "\(route)/spike", token: owner).json["last_fired_cycle"] as? String == "2027-01")

            let messages = try #require(try await client.admin(.get, "/admin/organizations/\(organization.lowercasedString)/mail", token: owner).json["data"] as? [[String: Any]])
            let sent = messages.reversed().map { ($0["kind"] as? String ?? "", $0["recipients"] as? [String] ?? [], $0["subject"] as? String ?? "") }
            #expect(sent.map(\.0) == ["spend_alert", "spend_alert", "spike_alert"], "\(sent)")
            #expect(sent.map(\.1) == [["ap@example.com"], ["ap@example.com"], ["ops@example.com"]])
            #expect(sent.first?.2 == "Spend alert: default has reached $10.00 in 2026-12", "\(sent)")
            #expect(sent.last?.2 == "Spike alert: default's spend in 2027-01 is twice last month's", "\(sent)")

            let events = try await client.admin(.get, "/admin/audit-events?limit=1000", token: owner).json["data"] as? [[String: Any]] ?? []
            let fired = events.compactMap { $0["event"] as? [String: Any] }.filter { $0["action"] as? String == "alert" }
            #expect(fired.count == 3, "\(fired)")
            #expect(fired.compactMap { $0["resource_id"] as? String }.sorted() == [id, id, "spike"].sorted(), "\(fired)")
        }
    }
}
