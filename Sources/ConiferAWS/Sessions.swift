import Foundation

/// Conifer's AWS identity: credentials from the standard environment variables, or the temporary
/// credentials of a role assumed with them (STS AssumeRole, with the external id the role's trust policy may
/// require). Assumed credentials are kept until five minutes before they expire. Endpoints are the standard
/// AWS ones unless configured or overridden by `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`; server
/// certificates are verified, against the process's `AWS_CA_BUNDLE` when it is set (`AWSTransport.processClient`).
public actor AWSSessions {
    public nonisolated let transport: AWSTransport
    nonisolated let environment: [String: String]
    private var assumed: [String: (credentials: AWSCredentials, expiration: Date)] = [:]

    /// Requests give up after `timeoutSeconds` (AsyncHTTPClient keeps retrying a refused connection until
    /// then), so an outage is reported before a client times out.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, timeoutSeconds: Int64 = 15) {
        self.transport = AWSTransport(timeoutSeconds: timeoutSeconds)
        self.environment = environment
    }

    /// Where `service` is reached: `configured`, else the environment's override, else nil (AWS's own).
    public nonisolated func endpoint(_ service: String, configured: String? = nil) -> URL? {
        AWSEndpoint.override(service: service, configured: configured, environment: environment)
    }

    /// The credentials to call AWS with: the environment's, or those of `role` assumed with them.
    public func credentials(role: String?, externalID: String?, region: String, sessionName: String, stsEndpoint: String? = nil) async throws -> AWSCredentials {
        guard let base = AWSCredentials.fromEnvironment(environment) else {
            throw AWSError(status: nil, code: nil, message: "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for conifer serve.")
        }
        guard let role else { return base }
        let cacheKey = "\(role)\n\(externalID ?? "")\n\(sessionName)"
        if let cached = assumed[cacheKey], cached.expiration.timeIntervalSinceNow > 300 { return cached.credentials }
        let sts = STSClient(region: region, endpoint: endpoint("sts", configured: stsEndpoint), transport: transport)
        let fresh = try await sts.assumeRole(roleARN: role, externalID: externalID, sessionName: sessionName, credentials: base)
        assumed[cacheKey] = fresh
        return fresh.credentials
    }

    /// Forgets assumed credentials, so the next call assumes the role again (after access was refused: a
    /// role's permissions may have changed).
    public func forget(role: String) {
        assumed = assumed.filter { !$0.key.hasPrefix("\(role)\n") }
    }
}
