@testable import ConiferAccess
import ConiferCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import ConiferServer

/// Single sign-on over HTTP, short of a signed response (the conformance suite signs with a real identity provider,
/// pysaml2, and attacks the ACS): who may configure it and with what, what it shows to copy, the SP metadata, the
/// SP-initiated start, enforcement against passwords, and a refused response leaving an audit event and no session.
@Suite struct SSOTests {
    static func settings(
        domains: [String] = ["Corp.example"], enforced: Bool = false, role: String = "OrgMember", certificate: String = SSOTests.pem,
        ssoURL: String = "https://idp.corp.example/sso", projectRoles: [(String, String)] = []
    ) -> String {
        let body: [String: Any] = [
            "idp_entity_id": "https://idp.corp.example/metadata", "sso_url": ssoURL, "certificate": certificate,
            "domains": domains, "enforced": enforced, "default_role": role,
            "default_project_roles": projectRoles.map { ["project_id": $0.0, "role": $0.1] },
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// The certificate of an identity provider (its key is not needed here: nothing is signed).
    static var pem: String {
        (try? String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/saml-idp.pem"), encoding: .utf8)) ?? ""
    }

    @Test func ownersConfigureItOnStandardAndSeeWhatToCopy() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            let project = try #require(server.bootstrap).projectID.lowercasedString
            let path = "/admin/organizations/\(organization)/sso"
            let manager = try await client.serviceAccount("manager", role: .manager, owner: owner)
            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await client.admin(.get, path, token: owner).status == 402, "Starter has no SSO")
            #expect(try await client.admin(.put, path, token: owner, body: Self.settings()).status == 402)
            _ = try await server.admin.setPlan(.standard, organization: nil)

            let empty = try await client.admin(.get, path, token: owner)
            #expect(empty.status == 200 && empty.json["configured"] as? Bool == false)
            let entity = try #require(empty.json["sp_entity_id"] as? String)
            let acs = try #require(empty.json["acs_url"] as? String)
            #expect(entity.hasSuffix("/saml/\(organization)/metadata") && acs.hasSuffix("/saml/\(organization)/acs"), "\(entity)")
            #expect(try await client.admin(.get, path, token: manager.token).status == 403)
            #expect(try await client.admin(.put, path, token: manager.token, body: Self.settings()).status == 403)

            for (body, words) in [
                (Self.settings(certificate: "not a certificate"), "certificate"),
                (Self.settings(domains: []), "domains"),
                (Self.settings(domains: ["corp..example"]), "not an email domain"),
                (Self.settings(domains: ["corp.example", "CORP.example"]), "twice"),
                (Self.settings(role: "OrgOwner"), "OrgOwner"),
                (Self.settings(role: "Admin"), "default_role"),
                (#"{"idp_entity_id":"x","sso_url":"https://idp/sso"}"#, "required"),
                (Self.settings(ssoURL: "javascript:alert(1)"), "sso_url"),
                (Self.settings(projectRoles: [(UUID().lowercasedString, "ProjectMember")]), "not a project of the organization"),
                (Self.settings(projectRoles: [(project, "OrgOwner")]), "default_project_roles: role"),
            ] {
                let refused = try await client.admin(.put, path, token: owner, body: body)
                #expect(refused.status == 400 && refused.message?.contains(words) == true, "\(words): \(refused.status) \(refused.text)")
            }
            #expect(try await client.admin(.get, path, token: owner).json["configured"] as? Bool == false, "nothing refused was kept")

            let set = try await client.admin(.put, path, token: owner, body: Self.settings(enforced: true, projectRoles: [(project, "ProjectMember")]))
            #expect(set.status == 200, "\(set.text)")
            #expect((set.json["default_project_roles"] as? [[String: String]]) == [["project_id": project, "role": "ProjectMember"]])
            #expect(set.json["domains"] as? [String] == ["corp.example"] && set.json["enforced"] as? Bool == true)
            let fingerprint = try #require(set.json["certificate_fingerprint_sha256"] as? String)
            #expect(fingerprint == Self.opensslFingerprint(Self.pem), "the fingerprint openssl shows")
            #expect(try await client.admin(.get, path, token: owner).json["idp_entity_id"] as? String == "https://idp.corp.example/metadata")

            // Another organization cannot take the domain.
            let other = try await server.sqliteCatalog.createOrganization(name: "other", plan: .standard)
            let otherOwner = try await client.token(clientID: other.owner.account.clientID, secret: other.owner.clientSecret)
            let taken = try await client.admin(.put, "/admin/organizations/\(other.organization.id.lowercasedString)/sso", token: otherOwner, body: Self.settings())
            #expect(taken.status == 409, "\(taken.text)")
            #expect(try await client.admin(.get, path, token: otherOwner).status == 404, "another organization's settings are hidden")

            let metadata = try await client.call(.get, "/saml/\(organization)/metadata", key: nil)
            #expect(metadata.status == 200 && metadata.headers[.contentType]?.hasPrefix("application/samlmetadata+xml") == true)
            #expect(metadata.text.contains(#"entityID="\#(entity)""#) && metadata.text.contains(#"Location="\#(acs)""#))

            #expect(try await client.admin(.delete, path, token: owner).status == 202)
            #expect(try await client.admin(.get, path, token: owner).json["configured"] as? Bool == false)
            #expect(try await client.admin(.delete, path, token: owner).status == 202, "removing nothing is a no-op")
            let events = try await client.admin(.get, "/admin/audit-events?resource_type=sso", token: owner).json["data"] as? [[String: Any]] ?? []
            let kinds = events.map { event in
                let body = event["event"] as? [String: Any]
                return "\(body?["action"] ?? "") \((body?["outcome"] as? [String: Any])?["result"] ?? "")"
            }
            #expect(kinds.filter { $0 == "update success" }.count == 1 && kinds.filter { $0 == "delete success" }.count == 2, "\(kinds)")
            // On Starter, the manager's, the ten bodies refused (the other organization's is in its own log).
            #expect(kinds.filter { $0 == "update failure" }.count == 12, "each refusal: \(kinds)")
        }
    }

    /// With enforcement on, the organization's domains sign in through the identity provider only: the console
    /// and the password grant refuse them (403, recorded); other domains keep their passwords.
    @Test func enforcementRefusesPasswordsOfTheDomainsOnly() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            _ = try await server.admin.setPlan(.standard, organization: nil)
            _ = try await ConsolePageTests.signedIn(client, owner: owner, email: "ana@corp.example", role: "OrgMember")
            _ = try await ConsolePageTests.signedIn(client, owner: owner, email: "bo@partner.example", role: "OrgMember")
            let grant = { (email: String) in
                try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"\#(email)","password":"\#(ConsoleTests.password)"}"#)
            }
            #expect(try await grant("ana@corp.example").status == 200)

            #expect(try await client.admin(.put, "/admin/organizations/\(organization)/sso", token: owner, body: Self.settings(enforced: false)).status == 200)
            #expect(try await grant("ana@corp.example").status == 200, "not enforced: passwords still work")
            #expect(try await client.admin(.put, "/admin/organizations/\(organization)/sso", token: owner, body: Self.settings(enforced: true)).status == 200)
            let refused = try await grant("ANA@corp.example")
            #expect(refused.status == 403 && refused.json["error"] as? String == "access_denied", "\(refused.text)")
            let page = try await ConsoleTests.browse(client, .post, "/console/sign-in", form: "email=ana%40corp.example&password=\(ConsoleTests.password)")
            #expect(page.status == 403 && page.text.contains("single sign-on") && ConsoleTests.cookie(of: page) == nil)
            #expect(try await grant("bo@partner.example").status == 200, "another domain keeps its password")
            let wrong = try await client.call(.post, "/oauth/token", key: nil, body: #"{"grant_type":"password","username":"ana@corp.example","password":"not hers at all"}"#)
            #expect(wrong.status == 401 && !wrong.text.contains("single sign-on"), "a wrong password learns nothing about SSO: \(wrong.text)")
            // A member of another organization with an address of the domain is not the enforcing organization's to lock out.
            let other = try await server.sqliteCatalog.createOrganization(name: "other", plan: .enterprise)
            let otherOwner = try await client.token(clientID: other.owner.account.clientID, secret: other.owner.clientSecret)
            _ = try await ConsolePageTests.signedIn(client, owner: otherOwner, email: "cy@corp.example", role: "OrgMember")
            #expect(try await grant("cy@corp.example").status == 200)
            let events = try await client.admin(.get, "/admin/audit-events?action=login", token: owner).json["data"] as? [[String: Any]] ?? []
            let denied = events.compactMap { (($0["event"] as? [String: Any])?["outcome"] as? [String: Any]) }.filter { $0["result"] as? String == "failure" }
            #expect(denied.count == 3 && denied.filter { ($0["reason"] as? String)?.contains("single sign-on") == true }.count == 2, "\(denied)")
            // On Starter the settings stay but are not in force.
            _ = try await server.admin.setPlan(.starter, organization: nil)
            #expect(try await grant("ana@corp.example").status == 200)
            #expect(try await ConsoleTests.browse(client, .get, "/console/sso?email=ana%40corp.example").status == 404)
        }
    }

    /// The SP-initiated start finds the organization by the email's domain and sends the browser to its identity
    /// provider with an AuthnRequest; a response the ACS cannot verify is refused, recorded and starts nothing.
    @Test func theSignInStartsAtTheIdentityProviderAndARefusedResponseIsRecorded() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            _ = try await server.admin.setPlan(.standard, organization: nil)
            let unconfigured = try await ConsoleTests.browse(client, .post, "/saml/\(organization)/acs", form: "SAMLResponse=x")
            #expect(unconfigured.status == 404, "\(unconfigured.status) \(unconfigured.text)")
            #expect(try await client.admin(.put, "/admin/organizations/\(organization)/sso", token: owner, body: Self.settings()).status == 200)

            let start = try await ConsoleTests.browse(client, .get, "/console/sso?email=ana%40Corp.example")
            let link = try #require(start.text.firstMatch(of: /id="identity-provider" href="([^"]+)"/)?.1).replacingOccurrences(of: "&amp;", with: "&")
            #expect(start.status == 200 && link.hasPrefix("https://idp.corp.example/sso?SAMLRequest=") && link.contains("&RelayState=%2Fconsole"), "\(link)")
            #expect(start.text.contains(#"<meta http-equiv="refresh" content="0;url=https://idp.corp.example/sso?SAMLRequest="#))
            let unknown = try await ConsoleTests.browse(client, .get, "/console/sso?email=ana%40elsewhere.example")
            #expect(unknown.status == 404 && unknown.text.contains("No organization"))

            for response in ["not-base64!", Data("<samlp:Response/>".utf8).base64EncodedString(), Data("<!DOCTYPE x []><x/>".utf8).base64EncodedString()] {
                let form = "SAMLResponse=\(ConsolePageTests.escape(response))&RelayState=%2Fconsole"
                let reply = try await ConsoleTests.browse(client, .post, "/saml/\(organization)/acs", form: form)
                #expect(reply.status == 403 && reply.text.contains("Single sign-on failed") && ConsoleTests.cookie(of: reply) == nil, "\(reply.status) \(reply.text)")
            }
            let events = try await client.admin(.get, "/admin/audit-events?action=login", token: owner).json["data"] as? [[String: Any]] ?? []
            let reasons = events.compactMap { (($0["event"] as? [String: Any])?["outcome"] as? [String: Any])?["reason"] as? String }
            #expect(reasons.count == 3 && reasons.contains { $0.contains("document type declaration") }, "\(reasons)")
        }
    }

    /// The console's page: what to copy, the form (the same rules and audit as the API), the settings shown, removal.
    @Test func anOwnerConfiguresItInTheConsole() async throws {
        try await TestServer.run { server, client in
            let owner = try await client.token()
            let organization = try #require(server.bootstrap).organizationID.lowercasedString
            let session = try await ConsolePageTests.signedIn(client, owner: owner, email: "owner@corp.example", role: "OrgOwner")
            let page = try await ConsoleTests.browse(client, .get, "/console/single-sign-on", cookie: session.cookie)
            #expect(page.status == 200 && page.text.contains("/saml/\(organization)/acs") && page.text.contains("Members sign in with passwords"))
            let fields = [
                ("idp_entity_id", "https://idp.corp.example/metadata"), ("sso_url", "https://idp.corp.example/sso"), ("certificate", Self.pem),
                ("domains", "corp.example, corp.example"), ("default_role", "OrgManager"), ("enforced", "true"),
                ("project_role_\(try #require(server.bootstrap).projectID.lowercasedString)", "ProjectManager"),
            ]
            let refused = try await ConsolePageTests.post(client, "/console/single-sign-on", session, fields)
            #expect(refused.status == 400 && refused.text.contains("twice"), "\(refused.text)")
            let saved = try await ConsolePageTests.post(client, "/console/single-sign-on", session, fields.map { $0.0 == "domains" ? ($0.0, "corp.example") : $0 })
            #expect(saved.status == 303, "\(saved.text)")
            let shown = try await ConsoleTests.browse(client, .get, "/console/single-sign-on", cookie: session.cookie)
            #expect(shown.text.contains(try #require(Self.opensslFingerprint(Self.pem))) && shown.text.contains("yes: passwords are refused"))
            let api = try await client.admin(.get, "/admin/organizations/\(organization)/sso", token: owner)
            #expect(api.json["default_role"] as? String == "OrgManager" && api.json["enforced"] as? Bool == true)
            #expect((api.json["default_project_roles"] as? [[String: String]])?.first?["role"] == "ProjectManager", "\(api.text)")
            #expect(shown.text.contains("OrgManager; ProjectManager in "), "the page names the project role")
            #expect(try await ConsolePageTests.post(client, "/console/single-sign-on/delete", session).status == 303)
            #expect(try await client.admin(.get, "/admin/organizations/\(organization)/sso", token: owner).json["configured"] as? Bool == false)
        }
    }

    #if os(Linux)
    /// SHA-256 fingerprint of a PEM certificate as `openssl x509 -fingerprint -sha256` prints it.
    static func opensslFingerprint(_ pem: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["x509", "-noout", "-fingerprint", "-sha256"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        guard (try? process.run()) != nil else { return nil }
        input.fileHandleForWriting.write(Data(pem.utf8))
        try? input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "=", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
    #endif
}
