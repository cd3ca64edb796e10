import ArgumentParser
import ConiferAccess
import ConiferAudit
import ConiferCore
import ConiferDatabase
import ConiferMail
import ConiferServer
import ConiferStorage
import Foundation
import Logging

/// `conifer serve`: runs the database until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Conifer server.")

    @OptionGroup var storage: DataDirectoryOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port).")
    var port: Int = 5080

    @Option(help: "Origin clients reach this server at; index hosts are built from it (default http://localhost:PORT).")
    var advertiseUrl: String?

    @Flag(help: "Allow listening on a non-loopback address without TLS.")
    var insecurePublic = false

    @Option(help: "Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP).")
    var tlsCert: String?

    @Option(help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Require client certificates issued by this PEM CA (mutual TLS).")
    var tlsClientCa: String?

    @Option(help: "Largest data-plane request body in bytes (default: Pinecone's 2 MB).")
    var maxRequestBytes: Int = 2 * 1024 * 1024

    @Option(help: "Fold an index's write log into a segment once it has this many files.")
    var compactAfterLogFiles: Int = 1000

    @Option(help: "Fold an index's write log into a segment once its files hold this many MiB.")
    var compactAfterLogMib: Int = 256

    @Option(help: "Seconds a connection may take to send a complete request head.")
    var headerTimeout: Int = 10

    @Option(help: "Seconds a request may take to send its body.")
    var bodyTimeout: Int = 60

    @Option(help: "Seconds an idle keep-alive connection stays open.")
    var idleTimeout: Int = 60

    @Option(help: "Open connections at most; more wait until one closes.")
    var maxConnections: Int = 512

    @Option(help: "Failed sign-ins per account in 15 minutes before it is throttled.")
    var loginFailuresPerAccount: Int = 10

    @Option(help: "Failed sign-ins per source address in a minute before it is throttled.")
    var loginFailuresPerSource: Int = 30

    @Option(help: "Days audit events are kept in the data directory (exported batches stay in their bucket).")
    var auditRetentionDays: Int = 90

    @Option(help: "Seconds after which deleted data is permanently removed: deleted indexes' files, deleted records' bytes (default 90 days).")
    var purgeAfterSeconds: Int = 90 * 86_400

    @Option(help: ArgumentHelp(
        "Seconds a data key unwrapped by a customer-managed key (AWS KMS) is used before KMS is asked again: the longest a disabled or revoked key leaves its indexes serving (default 300, or CONIFER_DEK_CACHE_SECONDS).",
        valueName: "seconds"
    ))
    var dekCacheSeconds: Int?

    @Option(help: ArgumentHelp(
        "Requests per second per class: 'pinecone' (Pinecone's serverless table) and/or items such as query=100,upsert=50,control=20,admin=10,signin=5; 0 is unlimited. Default: unlimited, or CONIFER_RATE_LIMITS.",
        valueName: "limits"
    ))
    var rateLimits: String?

    @Option(help: "Rate limits of projects of organizations on the Starter plan, over --rate-limits (same syntax).")
    var starterRateLimits: String?

    @Option(help: "Rate limits of projects of organizations on the Standard plan, over --rate-limits (same syntax).")
    var standardRateLimits: String?

    @Option(help: "Rate limits of projects of organizations on the Enterprise plan, over --rate-limits (same syntax).")
    var enterpriseRateLimits: String?

    @Option(help: "Count requests for the metrics (per index, per HTTP route) and meter units (usage ledger, monthly unit quotas): on or off (off only to measure what they cost).")
    var metrics: String = "on"

    @Option(help: "Answer data-plane queries whose caller, index and limits are at hand on the connection's event loop, below the router: on or off (off only to measure what it saves; answers are the same).")
    var fastPath: String = "on"

    @Option(help: ArgumentHelp(
        "A JSON file of prices laid over Pinecone's list prices for usage reports and spend alerts: {\"prices\": [{\"sku\", \"plan\", \"region\" (optional), \"usd\"}]} (USD per 1M read or write units, per GB-month of storage, per GB restored).",
        valueName: "file"
    ))
    var priceList: String?

    @Option(help: ArgumentHelp(
        "Send invitations and alerts through this SMTP server: smtp://user:password@host:587 (STARTTLS) or smtps://… (env CONIFER_SMTP_URL keeps the password out of the process list).",
        valueName: "url"
    ))
    var smtpURL: String?

    @Option(help: "The sender of the server's mail (required with --smtp-url).")
    var mailFrom: String?

    @Option(help: ArgumentHelp("A PEM file of the CA that signed the SMTP server's certificate (the system's roots otherwise).", valueName: "file"))
    var smtpCAFile: String?

    @Option(help: "Seconds before a failed message is first retried; each further retry waits twice as long, up to an hour.")
    var mailRetrySeconds: Int = 30

    @Option(help: "How often spend alerts are evaluated against the month's cost, in seconds (at most 3600).")
    var spendAlertSeconds: Int = 600

    @Option(help: ArgumentHelp(
        "Open a second listener serving only the data plane, for projects' private endpoints (HOST:PORT, [IPv6]:PORT); the TLS flags apply to it too.",
        valueName: "address"
    ))
    var privateListen: String?

    @Option(help: "Origin clients in private networks reach the private listener at; private_host is built from it (default: its address).")
    var privateAdvertiseUrl: String?

    @Flag(help: "Every connection to the private listener starts with a PROXY protocol v1 or v2 header (an AWS NLB endpoint service in front); others are closed.")
    var privateProxyProtocol = false

    @Option(help: "With --private-proxy-protocol: the address blocks (CIDR, comma-separated) of the load balancers whose PROXY headers are believed; connections from elsewhere are closed.")
    var privateProxyFrom: String?

    @Option(help: "Directory for backup files (default: backups in the data directory); with --backup-store, where they are written before the upload.")
    var backupDir: String?

    @Option(help: "Keep backup files in an S3 bucket: s3://BUCKET[/PREFIX] (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL).")
    var backupStore: String?

    @Option(help: "The region of the --backup-store bucket (default: AWS_REGION, else us-east-1).")
    var backupStoreRegion: String?

    @Option(help: "Keep every index's files in an S3 bucket: s3://BUCKET[/PREFIX]; the data directory's index files are then a cache. Credentials and endpoint as for --backup-store.")
    var indexStore: String?

    @Option(help: "The region of the --index-store bucket (default: AWS_REGION, else us-east-1).")
    var indexStoreRegion: String?

    @Option(help: "S3-compatible endpoints (http(s) origins, comma-separated) that organizations may name as their audit export's endpoint_url; none by default, so exports go to AWS S3 only.")
    var auditEndpoints: String?

    @Option(help: "Buckets (comma-separated) that audit exports may write with this server's own AWS credentials, without a role_arn of the organization's; none by default.")
    var auditServerCredentialBuckets: String?

    @Option(help: "Customer-managed KMS keys (ARNs, comma-separated) this server may use with its own AWS credentials, without the project's role_arn; none by default.")
    var cmekServerCredentialKeys: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// `--dek-cache-seconds`, else `CONIFER_DEK_CACHE_SECONDS`, else 300 (a flag over the environment).
    func dekCacheLifetimeSeconds() throws -> Int {
        if let dekCacheSeconds { return dekCacheSeconds }
        guard let text = ProcessInfo.processInfo.environment["CONIFER_DEK_CACHE_SECONDS"] else { return 300 }
        guard let seconds = Int(text) else { throw ValidationError("CONIFER_DEK_CACHE_SECONDS must be a whole number of seconds, got '\(text.prefix(32))'.") }
        return seconds
    }

    /// The items of a comma-separated option.
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// An on/off option's value.
    static func isOn(_ value: String, option: String) throws -> Bool {
        guard ["on", "off"].contains(value) else { throw ValidationError("--\(option) must be on or off, got '\(value.prefix(16))'.") }
        return value == "on"
    }

    func run() async throws {
        try requireEngineCPU()
        ConiferApplication.runTasksOnEventLoops()
        // Everything the server creates (catalog, keys, index files) is for its own user only.
        umask(0o077)
        // A reader of stdout or stderr that went away (a closed pipe) must not stop the server: writes to it fail
        // with EPIPE and are dropped instead of killing the process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = DeferredMetadataLogHandler(stream: .standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "conifer")
        var configuration = ServerConfiguration(
            dataDirectory: storage.directory,
            host: host,
            port: port,
            advertiseURL: advertiseUrl,
            insecurePublic: insecurePublic,
            tls: try tlsFiles(),
            bootstrapAPIKey: ProcessInfo.processInfo.environment["CONIFER_BOOTSTRAP_API_KEY"],
            bootstrapClientID: ProcessInfo.processInfo.environment["CONIFER_BOOTSTRAP_CLIENT_ID"],
            bootstrapClientSecret: ProcessInfo.processInfo.environment["CONIFER_BOOTSTRAP_CLIENT_SECRET"],
            maxRequestBytes: maxRequestBytes,
            compaction: CompactionPolicy(
                maxLogFiles: max(1, compactAfterLogFiles), maxLogBytes: max(1, compactAfterLogMib) << 20, purgeAfter: .seconds(max(1, purgeAfterSeconds))
            ),
            connections: ConnectionLimits(
                headerTimeout: .seconds(headerTimeout), bodyTimeout: .seconds(bodyTimeout), idleTimeout: .seconds(idleTimeout),
                maxConnections: maxConnections
            ),
            loginThrottle: LoginThrottle.Policy(accountLimit: max(1, loginFailuresPerAccount), sourceLimit: max(1, loginFailuresPerSource)),
            auditRetentionDays: auditRetentionDays,
            masterKey: storage.masterKeySource,
            dekCacheLifetime: .seconds(try dekCacheLifetimeSeconds()),
            metricsToken: ProcessInfo.processInfo.environment["CONIFER_METRICS_TOKEN"],
            rateLimits: try RateLimits.parse(rateLimits ?? ProcessInfo.processInfo.environment["CONIFER_RATE_LIMITS"] ?? ""),
            metricsEnabled: try Self.isOn(metrics, option: "metrics")
        )
        configuration.fastPath = try Self.isOn(fastPath, option: "fast-path")
        configuration.catalog = try storage.catalogLocation()
        configuration.catalogPoolSize = storage.catalogPoolSize
        guard (1...3600).contains(spendAlertSeconds) else { throw ValidationError("--spend-alert-seconds must be between 1 and 3600.") }
        configuration.spendAlertInterval = .seconds(spendAlertSeconds)
        if let url = smtpURL ?? ProcessInfo.processInfo.environment["CONIFER_SMTP_URL"] {
            guard let from = mailFrom, MailMessage.isDeliverable(from) else { throw ValidationError("--smtp-url needs --mail-from with a plain address (name@example.com).") }
            guard mailRetrySeconds >= 1 else { throw ValidationError("--mail-retry-seconds must be at least 1.") }
            do {
                configuration.mail = MailSettings(smtp: try SMTPServer(url: url), from: from, caFile: smtpCAFile, retryBase: .seconds(mailRetrySeconds))
            } catch {
                throw ValidationError(error.description)
            }
        } else if mailFrom != nil || smtpCAFile != nil {
            throw ValidationError("--mail-from and --smtp-ca-file need --smtp-url.")
        }
        if let priceList {
            guard let data = FileManager.default.contents(atPath: priceList) else { throw ValidationError("Cannot read the price list \(priceList).") }
            configuration.priceList = try PriceList.pinecone.overridden(byJSON: data)
        }
        for (plan, text) in [(Plan.starter, starterRateLimits), (.standard, standardRateLimits), (.enterprise, enterpriseRateLimits)] {
            if let text { configuration.planRateLimits[plan] = try RateLimits.parse(text, over: configuration.rateLimits) }
        }
        configuration.auditPolicy = try AuditDestinationPolicy(
            allowedEndpoints: Self.list(auditEndpoints), serverCredentialBuckets: Self.list(auditServerCredentialBuckets)
        )
        configuration.cmekServerCredentialKeys = Set(Self.list(cmekServerCredentialKeys))
        configuration.backupDirectory = backupDir.map { URL(fileURLWithPath: $0) }
        if let backupStore {
            let region = backupStoreRegion ?? ProcessInfo.processInfo.environment["AWS_REGION"] ?? "us-east-1"
            guard let location = BackupStoreLocation(s3: backupStore, region: region) else {
                throw ValidationError("--backup-store must be s3://BUCKET[/PREFIX], got '\(backupStore.prefix(64))'.")
            }
            configuration.backupStore = location
        }
        if let indexStore {
            let region = indexStoreRegion ?? ProcessInfo.processInfo.environment["AWS_REGION"] ?? "us-east-1"
            guard let location = BackupStoreLocation(s3: indexStore, region: region) else {
                throw ValidationError("--index-store must be s3://BUCKET[/PREFIX], got '\(indexStore.prefix(64))'.")
            }
            configuration.indexStore = location
        }
        // Tests only: a compressed clock for backup schedules ("ANCHOR:SCALE"), so days pass in seconds.
        if let text = ProcessInfo.processInfo.environment["CONIFER_TEST_SCHEDULE_CLOCK"] {
            guard let clock = ScheduleClock(compressed: text) else {
                throw ValidationError("CONIFER_TEST_SCHEDULE_CLOCK must be ANCHOR:SCALE (Unix seconds, a factor of at least 1), got '\(text.prefix(32))'.")
            }
            configuration.scheduleClock = clock
        }
        if let privateListen {
            let proxies = try privateProxyProtocol ? Self.list(privateProxyFrom).map { text throws(ConiferError) in try CIDRBlock(text) } : nil
            guard privateProxyProtocol || privateProxyFrom == nil else { throw ValidationError("--private-proxy-from needs --private-proxy-protocol.") }
            configuration.privateListener = try PrivateListener(address: privateListen, advertiseURL: privateAdvertiseUrl, proxies: proxies)
        } else if privateAdvertiseUrl != nil || privateProxyProtocol || privateProxyFrom != nil {
            throw ValidationError("--private-advertise-url, --private-proxy-protocol and --private-proxy-from need --private-listen.")
        }
        let server: ConiferApplication
        do {
            server = try await ConiferApplication(configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
        if let bootstrap = server.bootstrap {
            if bootstrap.generatedKey {
                say("""
                    Conifer bootstrapped a new data directory at \(configuration.dataDirectory.path).
                    API key (ProjectEditor, project "default"), shown only this once:

                        \(bootstrap.apiKeyValue)

                    """)
            } else {
                say("Conifer bootstrapped a new data directory with the API key from CONIFER_BOOTSTRAP_API_KEY.")
            }
        }
        if let account = server.bootstrapServiceAccount {
            if configuration.bootstrapClientSecret == nil {
                say("""
                    Org-owner service account (for the Admin API and /oauth/token), shown only this once:

                        client id:     \(account.account.clientID)
                        client secret: \(account.clientSecret)

                    """)
            } else {
                say("Conifer created the org-owner service account from CONIFER_BOOTSTRAP_CLIENT_ID / CONIFER_BOOTSTRAP_CLIENT_SECRET.")
            }
        }
        try await server.run(logger: logger, onListening: { url in say("Conifer listening on \(url)") }) { url in
            say("Conifer private listener on \(url)")
        }
    }
}

extension ServeCommand {
    /// The TLS files, when `--tls-cert` and `--tls-key` are given (both or neither).
    func tlsFiles() throws -> TLSFiles? {
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            guard tlsClientCa == nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key.") }
            return nil
        case (let cert?, let key?):
            return TLSFiles(
                certificate: URL(fileURLWithPath: cert), key: URL(fileURLWithPath: key), clientCA: tlsClientCa.map { URL(fileURLWithPath: $0) }
            )
        default:
            throw ValidationError("Give both --tls-cert and --tls-key.")
        }
    }
}

/// Writes a line to stdout unbuffered, so scripts waiting on it see it at once. A closed stdout (the reader went
/// away) is ignored: `write(_:)` would stop the server on it.
private func say(_ text: String) {
    try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
}

