import ConiferCore
import Foundation

/// Which audit destinations the operator lets tenants name (SECURITY.md rule 13). No tenant decides where the
/// server connects or whose credentials it writes with: by default an export reaches only AWS's own S3 (and STS)
/// endpoints, through the tenant's own role (`role_arn`, with its external id). An operator may allow
/// S3-compatible endpoints (`--audit-endpoints`) and buckets written with the server's own credentials
/// (`--audit-server-credential-buckets`).
public struct AuditDestinationPolicy: Sendable, Equatable {
    /// Origins (`scheme://host[:port]`, lower-cased) a destination may name as its `endpoint_url`.
    public var allowedEndpoints: Set<String>
    /// Buckets a destination may name without a role: written with the server's own credentials.
    public var serverCredentialBuckets: Set<String>

    /// The default: AWS's own endpoints, tenants' roles only.
    public static let awsThroughTenantRoles = AuditDestinationPolicy(origins: [], buckets: [])

    private init(origins: Set<String>, buckets: Set<String>) {
        allowedEndpoints = origins
        serverCredentialBuckets = buckets
    }

    public init(allowedEndpoints: [String], serverCredentialBuckets: [String]) throws(ConiferError) {
        self.allowedEndpoints = Set(try allowedEndpoints.map { text throws(ConiferError) in
            guard let origin = Self.origin(text) else {
                throw .invalidArgument("An allowed audit endpoint must be an http(s) origin such as https://minio.internal:9000, got '\(text.prefix(64))'.")
            }
            return origin
        })
        self.serverCredentialBuckets = Set(serverCredentialBuckets)
    }

    /// Refuses a destination the operator did not allow, naming what is missing (400).
    public func check(_ destination: AuditDestination) throws(ConiferError) {
        if let endpoint = destination.endpointURL {
            guard let origin = Self.origin(endpoint), allowedEndpoints.contains(origin) else {
                throw .invalidArgument(
                    "endpoint_url \(endpoint.prefix(128)) is not one this server's operator allows (conifer serve --audit-endpoints); without endpoint_url the export goes to AWS S3."
                )
            }
        }
        guard destination.roleARN != nil || serverCredentialBuckets.contains(destination.bucket) else {
            throw .invalidArgument(
                "role_arn is required: the export writes to bucket \(destination.bucket) through your IAM role (with external_id), not with this server's own credentials."
            )
        }
    }

    /// `scheme://host[:port]` of an http(s) URL without credentials, query or fragment; nil for anything else.
    static func origin(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host?.lowercased(), !host.isEmpty, components.user == nil, components.password == nil,
              components.query == nil, components.fragment == nil, components.path.isEmpty || components.path == "/"
        else { return nil }
        return components.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }
}
