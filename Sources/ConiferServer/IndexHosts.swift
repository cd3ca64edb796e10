import ConiferAccess
import ConiferCore
import Foundation

/// Builds the `host` of index models: the origin clients reach Conifer at, plus the index's data-plane prefix.
///
/// The origin comes from `--advertise-url`, or from the address the server bound when none was given
/// (so a server on port 0 reports the port it actually got).
final class IndexHosts: Sendable {
    private let origin: LockedBox<String>

    init(origin: String) {
        self.origin = LockedBox(Self.trimmed(origin))
    }

    /// Replaces the origin once the listening port is known.
    func setOrigin(_ origin: String) {
        let trimmed = Self.trimmed(origin)
        self.origin.withValue { $0 = trimmed }
    }

    /// Where clients reach this server: `scheme://host[:port]`.
    var currentOrigin: String { origin.value }

    func host(for index: IndexDefinition) -> String {
        "\(origin.value)\(Self.pathPrefix(projectID: index.projectID, indexName: index.name))"
    }

    static func pathPrefix(projectID: UUID, indexName: String) -> String {
        "/data/\(projectID.lowercasedString)/\(indexName)"
    }

    private static func trimmed(_ origin: String) -> String {
        origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }
}
