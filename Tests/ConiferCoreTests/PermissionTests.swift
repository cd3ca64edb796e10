import ConiferCore
import Foundation
import Testing

@Suite struct PermissionTests {
    @Test func rolesGrantDocumentedPermissions() {
        #expect(APIKeyRole.projectEditor.permissions == [.indexesRead, .indexesWrite, .dataRead, .dataWrite])
        #expect(APIKeyRole.projectViewer.permissions == [.indexesRead, .dataRead])
        #expect(APIKeyRole.controlPlaneEditor.permissions == [.indexesRead, .indexesWrite])
        #expect(APIKeyRole.controlPlaneViewer.permissions == [.indexesRead])
        #expect(APIKeyRole.dataPlaneEditor.permissions == [.dataRead, .dataWrite])
        #expect(APIKeyRole.dataPlaneViewer.permissions == [.dataRead])
    }

    @Test func principalCombinesRolesAndDeniesTheRest() throws {
        let principal = Principal.apiKey(id: UUID(), roles: [.controlPlaneViewer, .dataPlaneViewer], projectID: UUID(), organizationID: UUID())
        try principal.require(.indexesRead)
        try principal.require(.dataRead)
        #expect(throws: ConiferError.self) { try principal.require(.indexesWrite) }
        #expect(throws: ConiferError.self) { try principal.require(.dataWrite) }
    }

    /// A backup reads the records of an index its caller may manage but not read: the pass for that work names
    /// the task and keeps the caller, reaches only what the task needs, and only a caller who may start the task
    /// gets one. The system's own passes stay the system's.
    @Test func delegatedPassesKeepTheCallerAndReachOnlyTheTasksRights() throws {
        let manager = Principal.apiKey(id: UUID(), roles: [.controlPlaneEditor], projectID: UUID(), organizationID: UUID())
        let pass = try manager.authorize(.indexesWrite)
        #expect(throws: ConiferError.self) { try pass.require(.dataRead) }
        let backup = try pass.delegating(.backup)
        #expect(backup.holder == .delegated(.backup, caller: manager))
        #expect(backup.caller == manager && backup.principal == nil && backup != .system(.backup))
        try backup.require(.dataRead)
        try backup.require(.dataWrite)
        #expect(throws: ConiferError.self) { try backup.require(.projectWrite) }
        #expect(throws: ConiferError.self) { try backup.principal(requiring: .indexesRead) }

        let viewer = try Principal.apiKey(id: UUID(), roles: [.controlPlaneViewer], projectID: UUID(), organizationID: UUID()).authorize(.indexesRead)
        #expect(throws: ConiferError.self) { try viewer.delegating(.backup) }
        let metrics = try viewer.delegating(.metrics)
        try metrics.require(.dataRead)
        #expect(throws: ConiferError.self) { try metrics.require(.dataWrite) }
        #expect(throws: ConiferError.self) { try pass.delegating(.purge) }

        #expect(try AuthorizationPass.system(.backup).delegating(.backup) == .system(.backup))
        #expect(AuthorizationPass.system(.backup).caller == nil)
    }
}

/// What a caller typed as an account name, as an audit event or log line may carry it.
@Suite struct RedactionTests {
    @Test func secretsAndThingsUnlikeAnAccountNameAreRedacted() {
        #expect(Redaction.clientID("Kx8vQ2-abc_def.1") == "Kx8vQ2-abc_def.1")
        #expect(Redaction.email("ada@example.com") == "ada@example.com")
        for secretLike in ["pcsa_" + String(repeating: "a", count: 40), "pcsk_abcd_efgh", "PCINV_token", "x" + String(repeating: "y", count: 128), "has space", "pass!word", ""] {
            #expect(Redaction.clientID(secretLike) == Redaction.placeholder, "\(secretLike)")
        }
        for notAnEmail in ["Hunter2!hunter2", "pcsa_x@example.com", "a@b", "<script>@example.com", "ada@example.com\n"] {
            #expect(Redaction.email(notAnEmail) == Redaction.placeholder, "\(notAnEmail)")
        }
    }
}
