import ConiferCore
import ConiferIndex
import ConiferKeys
import Crypto
import Foundation
import Logging
import Testing
@testable import ConiferStorage

/// A temporary index directory, removed when the test ends, and the data key its files are sealed under.
final class TemporaryDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("conifer-store-\(UUID().uuidString)")
    let cipher = FileCipher(key: SymmetricKey(size: .bits256))
    deinit { try? FileManager.default.removeItem(at: url) }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent(sub).path)) ?? []).sorted()
    }
}

func record(_ id: String, _ values: [Float], _ metadata: Metadata = [:]) -> VectorRecord {
    VectorRecord(id: id, values: values, metadata: metadata)
}

func openStore(_ directory: TemporaryDirectory, policy: CompactionPolicy = .never) async throws -> IndexStore {
    try await IndexStore.open(indexID: UUID(), directory: directory.url, cipher: directory.cipher, policy: policy, logger: Logger(label: "test"))
}

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
