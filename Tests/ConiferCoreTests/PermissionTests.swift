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
}
