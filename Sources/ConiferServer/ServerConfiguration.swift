import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferDatabase
import ConiferKeys
import ConiferMail
import ConiferStorage
import Foundation

/// How long a connection may take over each part of a request, and how many may be open at once
/// (SECURITY.md rule 10): a client that sends nothing, drips its headers or body, or never closes an idle
/// connection is cut off instead of holding a slot for ever.
public struct ConnectionLimits: Sendable, Equatable {
    /// From accepting a connection to a complete request head.
    public var headerTimeout: Duration
    /// From the request head to the end of its body.
    public var bodyTimeout: Duration
    /// From the end of a response to the head of the next request on the same connection.
    public var idleTimeout: Duration
    /// Open connections; further ones wait in the listen backlog until one closes.
    public var maxConnections: Int

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(60), maxConnections: Int = 512) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// How `conifer serve` runs: where data lives, where it listens, what it tells clients.
public struct ServerConfiguration: Sendable {
    public var dataDirectory: URL
    public var host: String
    public var port: Int
    /// The origin clients use to reach this server (index hosts are built from it).
    public var advertiseURL: String?
    /// Allows a non-loopback listener without TLS.
    public var insecurePublic: Bool
    /// Serve HTTPS with these files (nil: plain HTTP).
    public var tls: TLSFiles?
    /// The value of the bootstrap ProjectEditor key on first start (`CONIFER_BOOTSTRAP_API_KEY`).
    public var bootstrapAPIKey: String?
    /// The first org-owner service account's credentials (`CONIFER_BOOTSTRAP_CLIENT_ID` / `_SECRET`).
    public var bootstrapClientID: String?
    public var bootstrapClientSecret: String?
    /// The largest data-plane request body accepted (Pinecone's limit is 2 MB per upsert).
    public var maxRequestBytes: Int
    /// When an index's write log is folded into a segment.
    public var compaction: CompactionPolicy
    /// Connection timeouts and the connection cap.
    public var connections: ConnectionLimits
    /// When failed sign-ins are throttled.
    public var loginThrottle: LoginThrottle.Policy
    /// How long audit events are kept locally (exported batches are in the customer's bucket for good).
    public var auditRetentionDays: Int
    /// Where the master key comes from (default: `master.key` in the data directory, made on first start).
    public var masterKey: MasterKeySource?
    /// How long a data key unwrapped by a customer-managed key (AWS KMS) is used before KMS is asked again:
    /// the longest a disabled or revoked key leaves its indexes serving.
    public var dekCacheLifetime: Duration
    /// The bearer token of the operator's `GET /metrics` (`CONIFER_METRICS_TOKEN`); without one it is not served.
    public var metricsToken: String?
    /// A second listener serving only the data plane, for private endpoints (`--private-listen`).
    public var privateListener: PrivateListener? = nil
    /// Where backup files are kept (`--backup-dir`; default `backups` in the data directory); with an S3 store,
    /// where they are written before the upload.
    public var backupDirectory: URL? = nil
    /// A local directory (default) or an S3 bucket (`--backup-store s3://bucket/prefix`).
    public var backupStore: BackupStoreLocation = .directory
    /// Where indexes' files are kept: the data directory alone (default), or an S3 bucket (`--index-store
    /// s3://bucket/prefix`), of which the data directory is then a cache.
    public var indexStore: BackupStoreLocation = .directory
    /// The time backup schedules go by (a compressed one only in tests: `CONIFER_TEST_SCHEDULE_CLOCK`).
    public var scheduleClock: ScheduleClock = .wall
    /// Which audit-export destinations tenants may name (S3-compatible endpoints, buckets written with the
    /// server's own credentials); by default only AWS's S3 through the tenant's role.
    public var auditPolicy: AuditDestinationPolicy = .awsThroughTenantRoles
    /// Customer-managed keys (ARNs) KMS may be asked about with the server's own AWS credentials, without the
    /// project's role (`--cmek-server-credential-keys`); none by default.
    public var cmekServerCredentialKeys: Set<String> = []
    /// Requests per second per operation class (unlimited by default).
    public var rateLimits: RateLimits
    /// Each plan's limits (over `rateLimits`), for the projects of organizations on it.
    public var planRateLimits: [Plan: RateLimits] = [:]
    /// The time rate limits go by (a clock the test moves in tests).
    public var rateLimitClock: @Sendable () -> ContinuousClock.Instant = { .now }
    /// How often metered units are written to the usage ledger (each write is a catalog commit, which empties the
    /// catalog's cache of keys and indexes).
    public var usageFlushInterval: Duration = .seconds(10)
    /// How long web-console sessions last (idle and absolute).
    public var consoleSessions = ConsoleSessionPolicy()
    /// How often spend alerts are evaluated against the ledger (`--spend-alert-seconds`).
    public var spendAlertInterval: Duration = .seconds(600)
    /// What usage costs in reports and spend alerts: Pinecone's list prices unless the operator's file
    /// (`--price-list`) overrides some.
    public var priceList: PriceList = .pinecone
    /// Where invitations and alerts are mailed from and through (`--smtp-url`, `--mail-from`); nil: no mail, and an
    /// invite's answer carries its token for the inviter to pass on.
    public var mail: MailSettings?
    /// Whether the listeners answer data-plane queries below the router when all they need is at hand
    /// (`DataPlaneFastPath`); off to measure what that saves, or to compare the two paths' answers.
    public var fastPath = true
    /// The catalog in PostgreSQL, shared with other servers; nil: SQLite in the data directory.
    public var catalog: PostgresLocation?
    /// Connections to the PostgreSQL catalog at most.
    public var catalogPoolSize = 10
    /// Whether requests are counted for the metrics (per index and per HTTP route) and metered for the usage
    /// ledger and the monthly unit quotas; off only to measure what counting and metering cost.
    public var metricsEnabled: Bool

    public init(
        dataDirectory: URL,
        host: String = "127.0.0.1",
        port: Int = 5080,
        advertiseURL: String? = nil,
        insecurePublic: Bool = false,
        tls: TLSFiles? = nil,
        bootstrapAPIKey: String? = nil,
        bootstrapClientID: String? = nil,
        bootstrapClientSecret: String? = nil,
        maxRequestBytes: Int = DataLimits.defaultMaxRequestBytes,
        compaction: CompactionPolicy = .init(),
        connections: ConnectionLimits = .init(),
        loginThrottle: LoginThrottle.Policy = .init(),
        auditRetentionDays: Int = 90,
        masterKey: MasterKeySource? = nil,
        dekCacheLifetime: Duration = .seconds(300),
        metricsToken: String? = nil,
        rateLimits: RateLimits = .defaults,
        metricsEnabled: Bool = true
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.advertiseURL = advertiseURL
        self.insecurePublic = insecurePublic
        self.tls = tls
        self.bootstrapAPIKey = bootstrapAPIKey
        self.bootstrapClientID = bootstrapClientID
        self.bootstrapClientSecret = bootstrapClientSecret
        self.maxRequestBytes = maxRequestBytes
        self.compaction = compaction
        self.connections = connections
        self.loginThrottle = loginThrottle
        self.auditRetentionDays = auditRetentionDays
        self.masterKey = masterKey
        self.dekCacheLifetime = dekCacheLifetime
        self.metricsToken = metricsToken
        self.rateLimits = rateLimits
        self.metricsEnabled = metricsEnabled
    }

    /// Whether the listen address only accepts connections from this machine.
    public var listensOnLoopback: Bool { Self.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    /// Checks the settings before anything is opened or bound.
    public func validate() throws(ConiferError) {
        guard maxRequestBytes >= 1024 else {
            throw .invalidArgument("--max-request-bytes must be at least 1024.")
        }
        guard connections.maxConnections >= 1, connections.headerTimeout > .zero, connections.bodyTimeout > .zero, connections.idleTimeout > .zero else {
            throw .invalidArgument("Connection timeouts must be positive and --max-connections at least 1.")
        }
        guard (1...36_500).contains(auditRetentionDays) else {
            throw .invalidArgument("--audit-retention-days must be 1 to 36500.")
        }
        guard dekCacheLifetime >= .seconds(1), dekCacheLifetime <= .seconds(86_400) else {
            throw .invalidArgument("--dek-cache-seconds must be 1 to 86400.")
        }
        guard (0...65_535).contains(port) else {
            throw .invalidArgument("Port \(port) is out of range.")
        }
        guard listensOnLoopback || insecurePublic || tls != nil else {
            throw .invalidArgument(
                "Refusing to listen on \(host) without TLS: clients would send API keys in clear text. "
                    + "Give --tls-cert and --tls-key, listen on 127.0.0.1, or pass --insecure-public if a TLS proxy sits in front of Conifer."
            )
        }
        try Self.validateAdvertised(advertiseURL, flag: "--advertise-url")
        guard catalog == nil || advertiseURL != nil || port != 0 else {
            throw .invalidArgument("A server on a shared catalog (--catalog) needs a fixed --port or an --advertise-url: the indexes it creates are reached there.")
        }
        if let privateListener {
            guard (0...65_535).contains(privateListener.port) else { throw .invalidArgument("Port \(privateListener.port) of --private-listen is out of range.") }
            guard Self.isLoopback(privateListener.host) || insecurePublic || tls != nil else {
                throw .invalidArgument(
                    "Refusing to listen on \(privateListener.host) (--private-listen) without TLS: clients would send API keys in clear text. "
                        + "Give --tls-cert and --tls-key (they apply to both listeners), or pass --insecure-public if a TLS proxy sits in front of Conifer."
                )
            }
            try Self.validateAdvertised(privateListener.advertiseURL, flag: "--private-advertise-url")
        }
    }

    private static func validateAdvertised(_ advertised: String?, flag: String) throws(ConiferError) {
        guard let advertised else { return }
        guard let url = URL(string: advertised), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw .invalidArgument("\(flag) must be an absolute http:// or https:// URL, got '\(advertised.prefix(200))'.")
        }
    }

    /// This server's origin as the shared catalog records it for the indexes whose files it holds; nil when the
    /// catalog is this server's alone.
    public var home: String? {
        guard catalog != nil else { return nil }
        let origin = advertiseURL ?? defaultOrigin(port: port)
        return origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }

    /// The origin index hosts use when no `--advertise-url` is set: `localhost` for loopback and wildcard
    /// listeners (the SDKs require a dot or `localhost` in a host), the listen address otherwise.
    public func defaultOrigin(port: Int) -> String { origin(host: host, port: port) }

    /// The origin of a listener on `host` and `port` as clients name it.
    func origin(host: String, port: Int) -> String {
        let wildcard = host == "0.0.0.0" || host == "::"
        if Self.isLoopback(host) || wildcard {
            return "\(scheme)://localhost:\(port)"
        }
        return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }

    /// `https` when the server serves TLS.
    public var scheme: String { tls == nil ? "http" : "https" }
}

/// The private listener: the data plane only, for clients in the networks of the projects' private endpoints.
public struct PrivateListener: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The origin of `private_host` (default: from the address bound).
    public var advertiseURL: String?
    /// When set, every connection starts with a PROXY protocol v1 or v2 header (an AWS NLB endpoint service in
    /// front), and only connections from these address blocks (the load balancers') are accepted.
    public var proxies: [CIDRBlock]?
    public var proxyProtocol: Bool { proxies != nil }

    public init(host: String, port: Int, advertiseURL: String? = nil, proxies: [CIDRBlock]? = nil) {
        self.host = host
        self.port = port
        self.advertiseURL = advertiseURL
        self.proxies = proxies
    }

    /// Parses `HOST:PORT` (`[IPv6]:PORT` for IPv6).
    public init(address: String, advertiseURL: String? = nil, proxies: [CIDRBlock]? = nil) throws(ConiferError) {
        let host: Substring
        let port: Substring
        if address.hasPrefix("["), let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") {
            host = address[address.index(after: address.startIndex)..<close]
            port = address[address.index(close, offsetBy: 2)...]
        } else if let colon = address.lastIndex(of: ":"), !address[..<colon].contains(":") {
            host = address[..<colon]
            port = address[address.index(after: colon)...]
        } else {
            throw .invalidArgument("--private-listen must be HOST:PORT (or [IPv6]:PORT), got '\(address.prefix(100))'.")
        }
        guard !host.isEmpty, let number = Int(port) else {
            throw .invalidArgument("--private-listen must be HOST:PORT (or [IPv6]:PORT), got '\(address.prefix(100))'.")
        }
        if let proxies, proxies.isEmpty {
            throw .invalidArgument("--private-proxy-protocol needs --private-proxy-from: the address blocks of the load balancers whose PROXY headers are believed.")
        }
        self.init(host: String(host), port: number, advertiseURL: advertiseURL, proxies: proxies)
    }
}

/// The server's outbound mail.
public struct MailSettings: Sendable {
    public var smtp: SMTPServer
    public var from: String
    /// A PEM file of the CA the SMTP server's certificate is checked against (the system's roots otherwise).
    public var caFile: String?
    /// The first retry's delay; each further one doubles it, up to an hour.
    public var retryBase: Duration

    public init(smtp: SMTPServer, from: String, caFile: String? = nil, retryBase: Duration = .seconds(30)) {
        self.smtp = smtp
        self.from = from
        self.caFile = caFile
        self.retryBase = retryBase
    }
}
