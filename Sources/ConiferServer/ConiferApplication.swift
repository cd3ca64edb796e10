// ConiferServer — the Hummingbird application: the route and permission table, authentication and the
// one authorization decision (`AccessMiddleware`), API dialects and wire types, error mapping, connection
// deadlines. Thin handlers: decode, call one service method, encode. The only module that imports
// Hummingbird (and, with ConiferAWS's transport, NIO); its allowed imports: docs/ARCHITECTURE.md.

import ConiferAccess
import ConiferAudit
import ConiferAWS
import ConiferCore
import ConiferDatabase
import ConiferKeys
import ConiferMail
import ConiferStorage
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import ServiceLifecycle
import Logging

/// Builds the Conifer server: catalog, bootstrap, routes and the Hummingbird application.
public struct ConiferApplication: Sendable {
    /// What the first start created, for the caller to report once; `nil` on later starts.
    public let bootstrap: BootstrapResult?
    /// The first org-owner service account, when this start created it.
    public let bootstrapServiceAccount: CreatedServiceAccount?
    let catalog: any Catalog
    /// The store of the audit log (and its outbox): the catalog's database.
    let auditSpool: any AuditSpool & AuditDirectory
    /// The Admin API's rules over the catalog.
    let admin: any AdminCatalog
    let tokens: TokenService
    let registry: StoreRegistry
    let hosts: IndexHosts
    let configuration: ServerConfiguration
    let loginThrottle: LoginThrottle
    /// Receives every state-changing call and every denial: the audit recorder, then any other observer.
    let observer: any ActionObserver
    /// Drafts audited calls' events before they run (the outbox of `AuditDraft`) and stores them as they ended.
    let recorder: AuditRecorder
    /// The audit log's settings, export and events.
    let audit: AuditLogService
    /// Per-index request counts, times and units, for the Prometheus series.
    let metrics: IndexMetrics
    /// Units per index and hour (the usage ledger) and per organization and month (quotas); nil when off.
    let usage: UsageMeter?
    /// HTTP and process metrics for the operator's `/metrics`.
    let serverMetrics: ServerMetrics
    /// Held while this server exists: no other server or operator command uses the data directory meanwhile.
    let lock: DataDirectoryLock
    /// The data plane, shared by both listeners (one scan pool, one set of rate-limit buckets).
    let dataPlane: DataPlaneService
    let limiter: RateLimiter
    let backups: BackupService
    /// The spend alerts' evaluation (its service runs it on the schedule clock; tests call it at chosen times).
    let spendAlerts: SpendAlerts

    /// The `Server` header of every answer.
    static let serverName = "Conifer"

    /// Opens the data directory and catalog, bootstrapping them on first start. Audit batches go to S3 unless
    /// another uploader is given (tests).
    public init(
        configuration: ServerConfiguration, observer: any ActionObserver = NoActionObserver(), auditUploader: (any AuditUploader)? = nil
    ) async throws {
        try configuration.validate()
        try DataDirectory.prepare(configuration.dataDirectory)
        let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        DurableFile.removeTemporaryFiles(in: configuration.dataDirectory)  // a key file a stop left half written
        let keyring = try KeyRing.open(dataDirectory: configuration.dataDirectory, source: configuration.masterKey)
        let catalog = try await CatalogDatabase.open(
            configuration.catalog, poolSize: configuration.catalogPoolSize, dataDirectory: configuration.dataDirectory, keyring: keyring
        )
        // A broken audit chain (a row deleted or edited in the catalog) is reported, loudly, not hidden; the server
        // still serves, and `conifer audit verify` names the same event.
        if let broken = try await catalog.verifyAuditChain() {
            Logger(label: "conifer.audit").critical("the audit log was tampered with", metadata: ["first broken link": "\(broken)"])
        }
        let tokens = try await catalog.tokens(dataDirectory: configuration.dataDirectory, sealingKey: keyring.serverKey)
        try await self.init(
            configuration: configuration, catalog: catalog.catalogService(), admin: catalog.adminService(), auditSpool: catalog.audit,
            auditUploader: auditUploader ?? S3AuditUploader(policy: configuration.auditPolicy),
            tokens: tokens, keyring: keyring, observer: observer, lock: lock
        )
    }

    init(
        configuration: ServerConfiguration, catalog: any Catalog, admin: any AdminCatalog, auditSpool: any AuditSpool & AuditDirectory,
        auditUploader: any AuditUploader, tokens: TokenService, keyring: KeyRing, observer: any ActionObserver, lock: DataDirectoryLock
    ) async throws {
        self.lock = lock
        self.configuration = configuration
        self.serverMetrics = ServerMetrics(token: configuration.metricsToken)
        self.metrics = IndexMetrics(enabled: configuration.metricsEnabled)
        self.recorder = AuditRecorder(spool: auditSpool, directory: auditSpool)
        self.observer = ObserverChain(first: recorder, then: observer)
        self.audit = AuditLogService(
            spool: auditSpool, exporter: AuditExporter(spool: auditSpool, uploader: auditUploader), policy: configuration.auditPolicy
        )
        self.loginThrottle = LoginThrottle(policy: configuration.loginThrottle)
        self.catalog = catalog
        self.auditSpool = auditSpool
        let hosts = IndexHosts(
            origin: configuration.advertiseURL ?? configuration.defaultOrigin(port: configuration.port),
            privateOrigin: configuration.privateListener.map { $0.advertiseURL ?? configuration.origin(host: $0.host, port: $0.port) }
        )
        self.hosts = hosts
        var admin = admin
        if let mail = configuration.mail, var service = admin as? AdminService {
            service.invitations = InvitationMail(from: mail.from) { hosts.currentOrigin }
            admin = service
        }
        self.admin = admin
        self.tokens = tokens
        self.bootstrap = try await catalog.bootstrapIfNeeded(apiKeyValue: configuration.bootstrapAPIKey)
        let usage = configuration.metricsEnabled ? try await UsageMeter.load(catalog: catalog) : nil
        self.usage = usage
        self.bootstrapServiceAccount = try await admin.bootstrapServiceAccount(
            clientID: configuration.bootstrapClientID, clientSecret: configuration.bootstrapClientSecret
        )
        let localKeys = LocalIndexKeys(master: keyring.master)
        let sessions = AWSSessions()
        let indexKeys = ProjectIndexKeys(
            local: localKeys, catalog: catalog, sessions: sessions, cacheLifetime: configuration.dekCacheLifetime,
            serverCredentialKeys: .only(configuration.cmekServerCredentialKeys)
        )
        let indexRoot = configuration.dataDirectory.appendingPathComponent("indexes")
        let logger = Logger(label: "conifer.storage")
        self.registry = StoreRegistry(
            root: indexRoot, keys: indexKeys, policy: configuration.compaction, logger: logger, home: configuration.home,
            objects: S3ObjectStore(configuration.indexStore, sessions: sessions)
        )
        self.dataPlane = DataPlaneService(catalog: catalog, registry: registry, metrics: metrics, usage: usage)
        self.limiter = RateLimiter(limits: configuration.rateLimits, plans: configuration.planRateLimits, clock: configuration.rateLimitClock)
        self.spendAlerts = SpendAlerts(
            admin: admin, prices: configuration.priceList, mailFrom: configuration.mail?.from, serverURL: { hosts.currentOrigin },
            observer: self.observer, logger: Logger(label: "conifer.billing")
        )
        self.backups = BackupService(
            catalog: catalog, registry: registry,
            files: BackupFiles(
                directory: configuration.backupDirectory ?? configuration.dataDirectory.appendingPathComponent("backups"),
                location: configuration.backupStore, sessions: sessions
            ),
            clock: configuration.scheduleClock, logger: logger, observer: self.observer, usage: usage
        )
        // Audit events whose change committed but whose call was not answered (a stop between the two): recorded
        // as staged, before anything else is recorded.
        let unsettled = try await auditSpool.drainOutbox(stagedBefore: .distantFuture)
        if unsettled > 0 { logger.notice("recorded audit events a stop left in the outbox", metadata: ["events": "\(unsettled)"]) }
        // Restore jobs a stopped server left unfinished: their indexes were never made visible, and their files
        // are retired below with the other orphans.
        let interrupted = try await catalog.failInterruptedRestoreJobs(home: configuration.home)
        if interrupted > 0 { logger.notice("restore jobs interrupted by a stop are marked failed", metadata: ["jobs": "\(interrupted)"]) }
        // Backup files a stop left without their row (written, not yet recorded) and unfinished downloads.
        let orphans = try await backups.removeOrphanFiles()
        if orphans > 0 { logger.notice("removed backup files a stop left unrecorded", metadata: ["files": "\(orphans)"]) }
        // Files of indexes deleted while their retirement could not finish.
        let indexes = try await catalog.allIndexes()
        await registry.retireOrphans(keeping: Set(indexes.map(\.id)), pass: .system(.purge))
        if !keyring.indexesSealed {
            let sealed = try await StoreRegistry.sealUnsealedIndexes(root: indexRoot, definitions: indexes, keys: localKeys)
            try keyring.markIndexesSealed()
            if !sealed.isEmpty { logger.notice("sealed the files of indexes written before encryption at rest", metadata: ["indexes": "\(sealed.count)"]) }
        }
    }

    /// The router with every route and its permission-table entry.
    func buildRouter() -> (Router<ConiferRequestContext>, RouteTable) {
        let router = Router(context: ConiferRequestContext.self)
        if configuration.metricsEnabled { router.add(middleware: HTTPMetricsMiddleware(metrics: serverMetrics)) }
        router.add(middleware: ErrorMiddleware())
        let routes = makeRouteTable(router)
        routes.open(.get, "/health", rate: .exempt("load balancers' health checks")) { _, _ in try WireJSON.response(status: .ok, ["status": "ok"]) }
        // The operator's metrics: checks its own token (not a project credential).
        routes.open(.get, "/metrics", rate: .exempt("the operator's scraper, with the operator's token")) { [serverMetrics] request, _ in
            guard serverMetrics.token != nil else { throw ConiferError.notFound("Not found: set CONIFER_METRICS_TOKEN to serve /metrics.") }
            guard serverMetrics.admits(request.headers[.authorization]) else {
                throw ConiferError.unauthenticated("GET /metrics needs the operator's metrics token as a bearer token.")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: serverMetrics.exposition()))
            )
        }
        let indexes = IndexService(catalog: catalog, registry: registry, metrics: metrics)
        IndexesController(indexes: indexes, backups: backups, hosts: hosts).register(in: routes)
        let dataPlaneRoutes = DataPlaneController(service: dataPlane, maxRequestBytes: configuration.maxRequestBytes, limiter: limiter)
        dataPlaneRoutes.register(in: routes)
        MetricsController(indexes: indexes, dataPlane: dataPlane, hosts: hosts).register(in: routes)
        let backupRoutes = BackupsController(backups: backups)
        backupRoutes.register(in: routes)
        let scheduleRoutes = BackupSchedulesController(backups: backups)
        scheduleRoutes.register(in: routes)
        CollectionsController(backups: backups).register(in: routes)
        let oauth = OAuthController(admin: admin, tokens: tokens, throttle: loginThrottle, observer: observer)
        oauth.register(in: routes)
        let spendAlertRoutes = SpendAlertsController(admin: admin)
        let auditRoutes = AuditController(admin: admin, audit: audit, environment: ProcessInfo.processInfo.environment)
        let projects = ProjectsController(admin: admin, cmekServerCredentialKeys: configuration.cmekServerCredentialKeys)
        let members = MembersController(admin: admin, mailsInvites: configuration.mail != nil)
        let organizations = OrganizationsController(admin: admin, audit: audit, indexes: indexes, backups: backups)
        let sso = SSOController(admin: admin, observer: observer, hosts: hosts, policy: configuration.consoleSessions, secure: configuration.tls != nil)
        ConsoleController(
            admin: admin, signIns: oauth, projects: projects, members: members, organizations: organizations, indexes: indexes, backups: backupRoutes, schedules: scheduleRoutes, spendAlerts: spendAlertRoutes, auditLog: auditRoutes, sso: sso,
            prices: configuration.priceList,
            dataPlane: dataPlaneRoutes, policy: configuration.consoleSessions, secure: configuration.tls != nil
        ).register(in: routes)
        sso.register(in: routes)
        organizations.register(in: routes)
        projects.register(in: routes)
        members.register(in: routes)
        UsageController(admin: admin, prices: configuration.priceList).register(in: routes)
        MailController(admin: admin).register(in: routes)
        spendAlertRoutes.register(in: routes)
        auditRoutes.register(in: routes)
        routes.addMethodFallbacks()
        return (router, routes)
    }

    /// The private listener's router: the data plane only, each request checked against the projects' private
    /// endpoints; everything else answers 404 there.
    func buildPrivateRouter(connections: ProxiedConnections) -> Router<ConiferRequestContext> {
        let router = Router(context: ConiferRequestContext.self)
        if configuration.metricsEnabled { router.add(middleware: HTTPMetricsMiddleware(metrics: serverMetrics)) }
        router.add(middleware: ErrorMiddleware())
        let routes = makeRouteTable(router)
        routes.open(.get, "/health", rate: .exempt("load balancers' health checks")) { _, _ in try WireJSON.response(status: .ok, ["status": "ok"]) }
        DataPlaneController(service: dataPlane, maxRequestBytes: configuration.maxRequestBytes, limiter: limiter, privateListener: connections).register(in: routes)
        routes.addMethodFallbacks()
        return router
    }

    /// A route table over `router`, with the limits of each project's and organization's calls from the catalog:
    /// the operator's limits for a project over its plan's over the server's.
    func makeRouteTable(_ router: Router<ConiferRequestContext>) -> RouteTable {
        let (catalog, limiter) = (self.catalog, self.limiter)
        return RouteTable(
            router: router, authenticator: Authenticator(catalog: catalog, admin: admin, tokens: tokens, consoleSessions: configuration.consoleSessions), observer: observer, recorder: recorder,
            limiter: limiter,
            projectLimits: { project in
                let settings = try await catalog.rateLimitSettings(project: project)
                return limiter.limits(plan: settings.plan, project: settings.rateLimits)
            },
            organizationLimits: { organization in
                limiter.plans.isEmpty ? limiter.server : limiter.limits(plan: try await catalog.plan(of: organization), project: nil)
            }
        )
    }

    /// The permission table: every route and what it needs, as a Markdown table.
    public func permissionTable() -> String {
        let (_, routes) = buildRouter()
        let rows = routes.entries.map { "| \($0.method.rawValue) | `\($0.path)` | \($0.access) | \($0.rate) |" }
        return (["| method | path | needs | rate limit |", "| --- | --- | --- | --- |"] + rows).joined(separator: "\n")
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully. `onListening` receives the URL once the
    /// server accepts connections.
    public func run(
        logger: Logger, onListening: @escaping @Sendable (String) -> Void, onPrivateListening: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        try await makeApplication(logger: logger, onListening: onListening, onPrivateListening: onPrivateListening).runService()
        // Every request has been answered: the units since the last periodic flush go to the ledger.
        try await usage?.flush()
    }

    /// The runnable application: HTTPS when the configuration has TLS files (certificate reloaded on
    /// SIGHUP), plain HTTP otherwise. `onListening` receives the URL once the server accepts connections.
    func makeApplication(
        logger: Logger, onListening: @escaping @Sendable (String) -> Void = { _ in }, onPrivateListening: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (router, _) = buildRouter()
        let hosts = self.hosts
        let configuration = self.configuration
        let limits = configuration.connections
        let http: HTTPServerBuilder = .http1(configuration: .init(additionalChannelHandlers: connectionHandlers(privateListener: nil, logger: logger)))
        var services: [any Service] = [
            CompactionService(registry: registry),
            AuditExportService(exporter: audit.exporter, spool: audit.spool, retentionDays: configuration.auditRetentionDays),
            PurgeService(registry: registry, catalog: auditSpool as? SQLiteCatalog, window: configuration.compaction.purgeAfter, logger: logger, observer: observer),
            BackupScheduleService(backups: backups),
        ]
        if let usage {
            services.append(UsageFlushService(usage: usage, logger: logger, interval: configuration.usageFlushInterval))
            services.append(StorageSampleService(sampler: StorageSampler(catalog: catalog, registry: registry, usage: usage), logger: logger))
        }
        services.append(ConsoleSessionSweepService(admin: admin, policy: configuration.consoleSessions, logger: logger))
        services.append(SpendAlertService(alerts: spendAlerts, clock: configuration.scheduleClock, interval: configuration.spendAlertInterval))
        if let mail = configuration.mail {
            let client = SMTPClient(server: mail.smtp, caFile: mail.caFile)
            services.append(MailOutboxService(catalog: catalog, client: client, logger: logger, retryBase: mail.retryBase))
        }
        var server = http
        var tlsConfiguration: TLSConfiguration?
        if let files = configuration.tls {
            let certificate = try ServerCertificate(files: files)
            let tls = try certificate.configuration()
            tlsConfiguration = tls
            server = try .tls(http, tlsConfiguration: tls)
            services.append(CertificateReloadService(certificate: certificate, logger: logger))
        }
        if let listener = configuration.privateListener {
            services.append(try makePrivateApplication(listener, tls: tlsConfiguration, logger: logger, onListening: onPrivateListening))
        }
        var application = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: Self.serverName,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                if configuration.advertiseURL == nil {
                    hosts.setOrigin(configuration.defaultOrigin(port: port))
                }
                let shownHost = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                onListening("\(configuration.scheme)://\(shownHost):\(port)")
            },
            logger: logger
        )
        application.addServices(services)
        return application
    }
}

extension ConiferApplication {
    /// The private listener as a service of the main application: the same TLS settings and connection limits,
    /// and a PROXY protocol header read first on every connection when the listener expects one.
    func makePrivateApplication(
        _ listener: PrivateListener, tls: TLSConfiguration?, logger: Logger, onListening: @escaping @Sendable (String) -> Void
    ) throws -> some ApplicationProtocol {
        let limits = configuration.connections
        let hosts = self.hosts
        let configuration = self.configuration
        let connections = ProxiedConnections()
        let server = HTTPServerBuilder { responder in
            let http = HTTP1Channel(
                responder: responder, configuration: .init(additionalChannelHandlers: connectionHandlers(privateListener: connections, logger: logger))
            )
            switch (tls, listener.proxies) {
            case (let tls?, let proxies?): return ProxyProtocolChannel(base: try TLSChannel(http, tlsConfiguration: tls), logger: logger, proxies: proxies, connections: connections)
            case (let tls?, nil): return try TLSChannel(http, tlsConfiguration: tls)
            case (nil, let proxies?): return ProxyProtocolChannel(base: http, logger: logger, proxies: proxies, connections: connections)
            case (nil, nil): return http
            }
        }
        return Application(
            router: buildPrivateRouter(connections: connections),
            server: server,
            configuration: .init(
                address: .hostname(listener.host, port: listener.port), serverName: Self.serverName,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listener.port
                if listener.advertiseURL == nil { hosts.setPrivateOrigin(configuration.origin(host: listener.host, port: port)) }
                let shownHost = listener.host.contains(":") ? "[\(listener.host)]" : listener.host
                onListening("\(configuration.scheme)://\(shownHost):\(port)")
            },
            logger: logger
        )
    }
}

extension ConiferApplication {
    /// What each connection of a listener gets after the HTTP codec (made anew for each connection): its deadlines,
    /// then the data-plane fast path when it is on, for the listener's queries (checked against the projects'
    /// private endpoints on the private listener, as its router checks them).
    func connectionHandlers(privateListener: ProxiedConnections?, logger: Logger) -> [any RemovableChannelHandler] {
        var handlers: [any RemovableChannelHandler] = [RequestDeadlineHandler(limits: configuration.connections)]
        if configuration.fastPath {
            let controller = DataPlaneController(
                service: dataPlane, maxRequestBytes: configuration.maxRequestBytes, limiter: limiter, privateListener: privateListener
            )
            let queries = FastQueries(controller: controller, catalog: catalog, metrics: configuration.metricsEnabled ? serverMetrics : nil, logger: logger)
            handlers.append(DataPlaneFastPath(queries: queries))
        }
        return handlers
    }
}

/// Two observers, told every outcome in order (the audit recorder first: its failure stops the answer).
struct ObserverChain: ActionObserver {
    let first: any ActionObserver
    let then: any ActionObserver

    func observe(_ outcome: ActionOutcome) async throws {
        try await first.observe(outcome)
        try await then.observe(outcome)
    }

    /// The audit recorder records with the change; the others are told after it, and their failure does not make
    /// the change (which happened) look undone.
    func record(_ outcome: ActionOutcome, _ change: @Sendable () async throws -> Bool) async throws -> Bool {
        guard try await first.record(outcome, change) else { return false }
        try? await then.observe(outcome)
        return true
    }
}
