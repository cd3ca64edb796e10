import ConiferCore
import Foundation
@testable import ConiferStorage

extension AuthorizationPass {
    /// The pass of a DataPlaneEditor key of some project: what these tests act as.
    static let dataEditor = try! Principal.apiKey(id: UUID(), roles: [.dataPlaneEditor], projectID: UUID(), organizationID: UUID())
        .authorize(.dataWrite)
}

extension IndexStore {
    /// A write by the tests' data editor.
    func write(_ request: WriteRequest) async throws -> WriteResult {
        try await write(request, pass: .dataEditor)
    }
}
