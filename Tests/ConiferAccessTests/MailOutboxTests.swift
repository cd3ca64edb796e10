import ConiferCore
import Foundation
import Testing
@testable import ConiferAccess

/// The mail outbox in the catalog: an invite's message is written in the transaction that makes the invite, kept
/// sealed (its body holds the invite's token), handed out when due, and loses its body once sent.
@Suite struct MailOutboxTests {
    @Test func anInvitesMessageIsWrittenWithItSealedAndForgottenOnceSent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-mail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteCatalog(directory: directory, sealingKey: CatalogTests.sealingKey)
        let catalog = CatalogService(catalog: sqlite)
        var admin = AdminService(catalog: sqlite)
        let boot = try #require(try await catalog.bootstrapIfNeeded(apiKeyValue: nil))
        let account = try #require(try await admin.bootstrapServiceAccount(clientID: nil, clientSecret: nil))
        let owner = try #require(try await admin.identity(serviceAccount: account.account.id, generation: 1))
        admin.invitations = InvitationMail(from: "conifer@example.com") { "https://conifer.example.com" }

        let binding = InviteBinding(resourceType: .organization, resourceID: nil, role: OrganizationRole.member.rawValue)
        let created = try await admin.createInvite(email: "Ada@Example.com", roleBindings: [binding], for: owner.admit())
        // A refused invite writes no message.
        await #expect(throws: ConiferError.self) {
            try await admin.createInvite(email: "eve@example.com", roleBindings: [InviteBinding(resourceType: .organization, resourceID: nil, role: "Emperor")], for: owner.admit())
        }
        let due = try await catalog.dueMail(at: Date(), limit: 10)
        #expect(due.count == 1)
        let mail = try #require(due.first)
        #expect(mail.kind == "invite" && mail.recipients == ["ada@example.com"] && mail.organizationID == boot.organizationID && mail.status == .pending)
        #expect(mail.message?.text.contains("Token: \(created.token)") == true && mail.message?.text.contains("https://conifer.example.com/oauth/accept-invite") == true)
        #expect(try await catalog.dueMail(at: Date().addingTimeInterval(-60), limit: 10).isEmpty, "not due before it was written")

        // Nothing of the token is in the catalog's files in clear: the invite keeps its hash, the outbox seals it.
        for file in try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil) {
            #expect(try Data(contentsOf: file).range(of: Data(created.token.utf8)) == nil, "\(file.lastPathComponent)")
        }

        var sent = mail
        sent.status = .sent
        sent.attempts = 1
        sent.message = nil
        sent.sentAt = Date()
        try await catalog.saveMail(sent)
        #expect(try await catalog.dueMail(at: Date().addingTimeInterval(3600), limit: 10).isEmpty)
        let listed = try await admin.mail(organization: boot.organizationID, for: owner.admit())
        #expect(listed.count == 1 && listed[0].status == .sent && listed[0].message == nil && listed[0].recipients == ["ada@example.com"])
        let member = try #require(try await admin.identity(
            serviceAccount: try await admin.createServiceAccount(name: "m", role: .member, for: owner.admit()).account.id, generation: 1
        ))
        await #expect(throws: ConiferError.self) { try await admin.mail(organization: boot.organizationID, for: member.admit()) }
    }
}
