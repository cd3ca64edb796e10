import ConiferAccess
import ConiferCore
import Foundation

/// Builds the `host` of index models: the origin clients reach Conifer at, plus the index's data-plane prefix.
///
/// The origin comes from `--advertise-url`, or from the address the server bound when none was given
/// (so a server on port 0 reports the port it actually got).
final class IndexHosts: Sendable {
    private let origin: LockedBox<String>
    /// The private listener's origin, when there is one (`private_host`).
    private let privateOrigin: LockedBox<String?>

    init(origin: String, privateOrigin: String? = nil) {
        self.origin = LockedBox(Self.trimmed(origin))
        self.privateOrigin = LockedBox(privateOrigin.map(Self.trimmed))
    }

    var hasPrivateListener: Bool { privateOrigin.value != nil }

    func setPrivateOrigin(_ origin: String) {
        let trimmed = Self.trimmed(origin)
        privateOrigin.withValue { $0 = trimmed }
    }

    /// The index's data-plane base on the private listener, when there is one and the index's project has a
    /// private endpoint in the index's region (`endpointRegions`).
    func privateHost(for index: IndexDefinition, endpointRegions: Set<String>) -> String? {
        guard endpointRegions.contains(index.region), let origin = privateOrigin.value else { return nil }
        return "\(origin)\(Self.pathPrefix(projectID: index.projectID, indexName: index.name))"
    }

    /// Replaces the origin once the listening port is known.
    func setOrigin(_ origin: String) {
        let trimmed = Self.trimmed(origin)
        self.origin.withValue { $0 = trimmed }
    }

    /// Where clients reach this server: `scheme://host[:port]`.
    var currentOrigin: String { origin.value }

    /// The index's data-plane base on the server that holds its files (this one unless the catalog is shared).
    func host(for index: IndexDefinition) -> String {
        "\(index.home ?? origin.value)\(Self.pathPrefix(projectID: index.projectID, indexName: index.name))"
    }

    static func pathPrefix(projectID: UUID, indexName: String) -> String {
        "/data/\(projectID.lowercasedString)/\(indexName)"
    }

    private static func trimmed(_ origin: String) -> String {
        origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }
}
