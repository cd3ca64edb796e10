import ConiferCore
import ConiferDatabase
import Foundation
import HummingbirdTesting
import SwiftCSV
import Testing
@testable import ConiferServer

/// The usage report through the Admin API: what a scripted workload used, as its responses counted it, priced
/// and grouped, as JSON and as a CSV download; who may see it; project tags.
@Suite struct UsageReportRouteTests {
    /// Project tags follow the index tag rules: set on create and update, an empty value removes one, a bad key is
    /// refused and changes nothing.
    @Test func projectsHaveTags() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let created = try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"tagged","tags":{"team":"search","cost-center":"42"}}"#)
            #expect(created.status == 200 && created.json["tags"] as? [String: String] == ["team": "search", "cost-center": "42"], "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let changed = try await client.admin(.patch, "/admin/projects/\(id)", token: owner, body: #"{"tags":{"cost-center":"","env":"prod"}}"#)
            #expect(changed.status == 200 && changed.json["tags"] as? [String: String] == ["team": "search", "env": "prod"], "\(changed.text)")
            for bad in [#"{"tags":{"bad key":"x"}}"#, #"{"tags":{"k":"\#(String(repeating: "v", count: 121))"}}"#] {
                let refused = try await client.admin(.patch, "/admin/projects/\(id)", token: owner, body: bad)
                #expect(refused.status == 400 && refused.errorCode == "INVALID_ARGUMENT", "\(refused.text)")
            }
            let many = (0..<21).map { #""k\#($0)":"v""# }.joined(separator: ",")
            #expect(try await client.admin(.post, "/admin/projects", token: owner, body: #"{"name":"many","tags":{\#(many)}}"#).status == 400)
            let described = try await client.admin(.get, "/admin/projects/\(id)", token: owner)
            #expect(described.json["tags"] as? [String: String] == ["team": "search", "env": "prod"])
            #expect(try await client.admin(.get, "/admin/projects", token: owner).text.contains("\"many\"") == false)
        }
    }

    /// After a scripted workload the report holds the units its responses reported (reads: fetch and list count
    /// whole units, as reported; a query is charged its 0.25 minimum though reported as 1) and the write units of
    /// its upserts (5 each, the minimum), priced at Standard's list prices; grouped every way to the same total;
    /// the CSV parses and adds up to it, with project and index tags.
    @Test func aWorkloadIsReportedPricedAndDownloadable() async throws {
        try await TestServer.run(configure: { $0.usageFlushInterval = .seconds(86_400) }) { server, client in
            let boot = try #require(server.bootstrap)
            let (organization, project) = (boot.organizationID.lowercasedString, boot.projectID.lowercasedString)
            let owner = try await client.token()
            let billing = try await client.serviceAccount("billing", role: .billingAdmin, owner: owner).token
            let member = try await client.serviceAccount("member", role: .member, owner: owner).token
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.admin(.patch, "/admin/projects/\(project)", token: owner, body: #"{"tags":{"team":"search"}}"#).status == 200)
            #expect(try await client.createIndex("shelf", extra: #","tags":{"env":"prod"}"#).status == 201)
            let data = "/data/\(project)/shelf"
            var reportedReads = 0
            func read(_ reply: Reply) { reportedReads += ((reply.json["usage"] as? [String: Any])?["readUnits"] as? Int) ?? 0 }
            for id in 0..<3 {
                #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[{"id":"v\#(id)","values":[1,\#(id),0]}]}"#).status == 200)
            }
            for _ in 0..<2 { read(try await client.call(.get, "\(data)/vectors/fetch?ids=v0&ids=v1")) }
            read(try await client.call(.get, "\(data)/vectors/list"))
            #expect(reportedReads == 3)
            for _ in 0..<4 { #expect(try await client.call(.post, "\(data)/query", body: #"{"topK":2,"vector":[1,0,0]}"#).status == 200) }
            try await server.usage?.flush()

            let route = "/admin/organizations/\(organization)/usage"
            let bySKU = try await client.admin(.get, "\(route)?group_by=sku", token: owner)
            #expect(bySKU.status == 200, "\(bySKU.text)")
            let rows = try #require(bySKU.json["data"] as? [[String: Any]])
            #expect(rows.map { $0["sku"] as? String } == ["serverless_read_units", "serverless_write_units"])
            #expect(rows.map { $0["quantity"] as? Double } == [Double(reportedReads) + 4 * 0.25, 15])
            let total = try #require(bySKU.json["total_cost"] as? Double)
            #expect(abs(total - (4 * 16 + 15 * 4) / 1_000_000) < 1e-12 && bySKU.json["plan"] as? String == "Standard" && bySKU.json["currency"] as? String == "USD")
            for grouping in ["project", "service"] {
                let grouped = try await client.admin(.get, "\(route)?group_by=\(grouping)", token: billing)
                let costs = (grouped.json["data"] as? [[String: Any]] ?? []).compactMap { $0["cost"] as? Double }
                #expect(grouped.status == 200 && costs.count == 1 && abs(costs[0] - total) < 1e-12, "\(grouped.text)")
            }
            let projectRow = try await client.admin(.get, "\(route)?group_by=project", token: owner).json["data"] as? [[String: Any]]
            #expect(projectRow?.first?["project_name"] as? String == "default")
            let filtered = try await client.admin(.get, "\(route)?sku=serverless_write_units", token: owner)
            #expect(abs((filtered.json["total_cost"] as? Double ?? 0) - 15 * 4 / 1_000_000) < 1e-12)
            let empty = try await client.admin(.get, "\(route)?service=backups", token: owner)
            #expect(empty.status == 200 && (empty.json["data"] as? [Any])?.isEmpty == true && empty.json["total_cost"] as? Double == 0)
            let past = try await client.admin(.get, "\(route)?start=2020-01-01&end=2020-02-01", token: owner)
            #expect(past.status == 200 && (past.json["data"] as? [Any])?.isEmpty == true)

            let download = try await client.admin(.get, "\(route)?format=csv", token: billing)
            #expect(download.status == 200 && download.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"conifer-usage-") == true)
            let csv = try CSV<Named>(string: download.text, delimiter: .comma)
            #expect(csv.header == UsageReport.csvColumns)
            #expect(csv.rows.map { $0["sku"] } == ["serverless_read_units", "serverless_write_units"])
            for row in csv.rows {
                #expect(row["resource_name"] == "shelf" && row["project_name"] == "default" && row["region"] == "us-east-1" && row["organization_id"] == organization)
                #expect(row["project_tags"] == #"{"team":"search"}"# && row["resource_tags"] == #"{"env":"prod"}"#, "\(row)")
            }
            #expect(abs(csv.rows.reduce(0) { $0 + Double($1["cost_usd"] ?? "")! } - total) < 1e-9)

            // Who may see it: owners and billing admins; members get 403, Starter organizations 402.
            #expect(try await client.admin(.get, route, token: member).status == 403)
            #expect(try await client.call(.get, route).status == 401)
            for bad in ["group_by=region", "sku=gold", "start=yesterday", "start=2026-02-01&end=2026-01-01", "format=xml", "project_id=7", "start=2020-01-01&end=2026-01-01"] {
                let refused = try await client.admin(.get, "\(route)?\(bad)", token: owner)
                #expect(refused.status == 400 && refused.errorCode == "INVALID_ARGUMENT", "\(bad): \(refused.text)")
            }
            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.get, route, token: owner).status == 402)
        }
    }
}

extension UsageReportRouteTests {
    /// Storage is sampled into GB-hours: an index by its files on disk, a backup and a collection by their size;
    /// a restore is metered once, in GB, on the index it made. Each sample counts for the hours it stands for.
    @Test func storageBackupsRestoresAndCollectionsAreMetered() async throws {
        try await TestServer.run(configure: { $0.usageFlushInterval = .seconds(86_400) }) { server, client in
            let boot = try #require(server.bootstrap)
            let owner = try await client.token()
            #expect(try await client.createIndex("books").status == 201)
            let data = "/data/\(boot.projectID.lowercasedString)/books"
            #expect(try await client.call(.post, "\(data)/vectors/upsert", body: #"{"vectors":[\#(BackupTests.vectors)]}"#).status == 200)
            let backup = try await client.call(.post, "/indexes/books/backups", body: #"{"name":"nightly"}"#)
            let backupID = try #require(backup.json["backup_id"] as? String)
            let backupBytes = try #require(try await client.call(.get, "/backups/\(backupID)").json["size_bytes"] as? Int)
            #expect(backupBytes > 0)
            let started = try await client.call(.post, "/backups/\(backupID)/create-index", body: #"{"name":"again"}"#)
            let job = try await BackupTests.waitForJob(client, try #require(started.json["restore_job_id"] as? String))
            #expect(job["status"] as? String == "Completed")
            #expect(try await client.call(.post, "/indexes", body: #"{"name":"pods","dimension":3,"metric":"euclidean",\#(CollectionTests.podSpec)}"#).status == 201)
            #expect(try await client.call(.post, "/data/\(boot.projectID.lowercasedString)/pods/vectors/upsert", body: #"{"vectors":[\#(BackupTests.vectors)]}"#).status == 200)
            let collection = try await client.call(.post, "/collections", body: #"{"name":"shelf","source":"pods"}"#)
            #expect(collection.status == 201, "\(collection.text)")

            let sampler = StorageSampler(catalog: server.catalog, registry: server.registry, usage: try #require(server.usage))
            try await sampler.sample(hours: 0.5)
            try await sampler.sample(hours: 0.5)
            let books = try await server.catalog.allIndexes().first { $0.name == "books" }
            let onDisk = await server.registry.diskUsage(of: try #require(books).id)
            try await server.usage?.flush()

            let csv = try await client.admin(.get, "/admin/organizations/\(boot.organizationID.lowercasedString)/usage?format=csv", token: owner)
            let rows = try CSV<Named>(string: csv.text, delimiter: .comma).rows
            func quantity(_ resource: String, _ sku: String) -> Double? {
                rows.first { $0["resource_name"] == resource && $0["sku"] == sku }.flatMap { Double($0["quantity"] ?? "") }
            }
            // One hour of each: the index's files as they were at the samples (nothing wrote in between).
            #expect(abs((quantity("books", "serverless_storage") ?? 0) - Double(onDisk) / 1e9) < 1e-6, "\(csv.text)")
            #expect(abs((quantity("nightly", "backup_storage") ?? 0) - Double(backupBytes) / 1e9) < 1e-6, "\(csv.text)")
            #expect((quantity("shelf", "collection_storage") ?? 0) > 0, "\(csv.text)")
            #expect(abs((quantity("again", "backup_restore") ?? 0) - Double(backupBytes) / 1e9) < 1e-6, "\(csv.text)")
            #expect(rows.first { $0["sku"] == "backup_restore" }?["service"] == "backups")
        }
    }
}

extension UsageReportRouteTests {
    /// Billing details: a billing admin sets and reads the contact, a paid plan without one is `PaymentPending`
    /// until then, bad input is refused and changes nothing, an OrgMember may do neither, and the contact is not
    /// in clear in the catalog's files.
    @Test func billingAdminsKeepTheBillingContact() async throws {
        try await TestServer.run { server, client in
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            let owner = try await client.token()
            let billing = try await client.serviceAccount("billing", role: .billingAdmin, owner: owner).token
            let member = try await client.serviceAccount("member", role: .member, owner: owner).token
            let route = "/admin/organizations/\(organization)/billing"
            _ = try await server.admin.setPlan(.starter, organization: nil)  // nothing to pay
            let empty = try await client.admin(.get, route, token: billing)
            #expect(empty.status == 200 && empty.json["payment_status"] as? String == "Active" && empty.json["billing_contact"] == nil, "\(empty.text)")
            _ = try await server.admin.setPlan(.standard, organization: nil)
            #expect(try await client.admin(.get, route, token: owner).json["payment_status"] as? String == "PaymentPending")
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)", token: owner).json["payment_status"] as? String == "PaymentPending")

            let contact = #"{"name":"Accounts Payable","email":"ap@billing.example.com","address":{"line1":"1 Main St","city":"Springfield","postal_code":"12345","state":"IL","country":"US"}}"#
            let set = try await client.admin(.patch, route, token: billing, body: #"{"billing_contact":\#(contact)}"#)
            #expect(set.status == 200 && set.json["payment_status"] as? String == "Active" && set.json["plan"] as? String == "Standard", "\(set.text)")
            let read = try await client.admin(.get, route, token: owner).json["billing_contact"] as? [String: Any]
            #expect(read?["email"] as? String == "ap@billing.example.com" && (read?["address"] as? [String: Any])?["state"] as? String == "IL")

            for bad in [
                #"{"billing_contact":{"name":"x","email":"not-an-address","address":{"line1":"a","city":"b","postal_code":"1","country":"US"}}}"#,
                #"{"billing_contact":{"name":"x","email":"x@example.com","address":{"line1":"a","city":"b","postal_code":"1","country":"USA"}}}"#,
                #"{"billing_contact":{"name":"","email":"x@example.com","address":{"line1":"a","city":"b","postal_code":"1","country":"US"}}}"#,
                #"{"contact":{}}"#, "{}",
            ] {
                let refused = try await client.admin(.patch, route, token: billing, body: bad)
                #expect(refused.status == 400 && refused.errorCode == "INVALID_ARGUMENT", "\(bad): \(refused.text)")
            }
            let incomplete = try await client.admin(.patch, route, token: billing, body: #"{"billing_contact":{"name":"x","email":"x@example.com"}}"#)
            #expect(incomplete.status == 422 && incomplete.message?.contains("address") == true, "\(incomplete.text)")
            #expect((try await client.admin(.get, route, token: owner).json["billing_contact"] as? [String: Any])?["name"] as? String == "Accounts Payable")
            #expect(try await client.admin(.get, route, token: member).status == 403)
            #expect(try await client.admin(.patch, route, token: member, body: #"{"billing_contact":\#(contact)}"#).status == 403)

            let directory = server.configuration.dataDirectory
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasPrefix("catalog.sqlite") {
                let bytes = try Data(contentsOf: directory.appendingPathComponent(file))
                #expect(bytes.range(of: Data("ap@billing.example.com".utf8)) == nil, "\(file) holds the contact in clear")
                #expect(bytes.range(of: Data("Springfield".utf8)) == nil, "\(file) holds the address in clear")
            }
        }
    }
}
