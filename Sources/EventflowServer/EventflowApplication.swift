import EventflowCore
import EventflowLog
public import Hummingbird
public import Logging
import ServiceLifecycle

/// The Eventflow server: collector, log and status routes in one Hummingbird application.
///
/// The log runs as a service of the application's service group, started before the
/// HTTP server and stopped after it, so on SIGTERM/SIGINT in-flight requests finish
/// their commits before the log closes.
public enum EventflowApplication {
    /// Opens the log in the configured data directory and builds the application;
    /// `onServerRunning` gets the port it listens on (useful with port 0).
    public static func build(
        configuration: ServerConfiguration, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let metrics = ServerMetrics(streams: configuration.streams.map(\.name))
        let streams = configuration.streams.map(\.name)
        let storage: EventStorage
        switch configuration.storage {
        case .sqlite:
            storage = try await SQLiteEventLog.open(
                configuration: LogConfiguration(
                    dataDirectory: configuration.dataDirectory, streams: streams, groupCommit: configuration.groupCommit,
                    maxCommitDelay: configuration.maxCommitDelay, maxDatabaseBytes: configuration.maxDatabaseBytes,
                    onCommit: { metrics.recordCommit($0) }),
                logger: logger
            ).storage
        case .postgres(let url):
            storage = try await PostgresEventLog.open(
                configuration: PostgresLogConfiguration(
                    url: url, streams: streams, groupCommit: configuration.groupCommit, maxCommitDelay: configuration.maxCommitDelay,
                    leaseDuration: configuration.leaseDuration, onCommit: { metrics.recordCommit($0) }),
                logger: logger
            ).storage
        }
        return build(configuration: configuration, storage: storage, metrics: metrics, logger: logger, onServerRunning: onServerRunning)
    }

    /// Retention's service when a retention is set, in processes that process (a collector
    /// alone does not know when processors are done).
    static func retention(_ configuration: ServerConfiguration, storage: EventStorage, metrics: ServerMetrics, logger: Logger) -> [any Service] {
        guard let retention = configuration.retention, configuration.role.processes else { return [] }
        let rule = RetentionRule(maxAgeMs: retention.milliseconds)
        return [
            LogRetentionService(
                retention: storage.retention, streams: configuration.streams.map(\.name), rule: rule, registry: metrics.registry, logger: logger)
        ]
    }

    /// The processors that read the log, started after it and stopped before it.
    static func processors(_ configuration: ServerConfiguration, storage: EventStorage, metrics: ServerMetrics, logger: Logger) -> [any Service] {
        var processors: [any Service] = []
        guard configuration.role.processes else { return processors }
        let registry = metrics.registry
        func serves(_ stream: String) -> Bool { configuration.streams.contains { $0.name == stream } }
        let quick = BatchFlushPolicy(maxEvents: 5000, maxDelay: configuration.processorCommitInterval)
        func runner<Step: ProcessorStep>(_ policy: BatchFlushPolicy, _ makeStep: @escaping @Sendable () -> Step) -> ProcessorRunner<Step> {
            ProcessorRunner(
                log: storage.log, state: storage.state, coordination: storage.coordination, policy: policy, metrics: ProcessorMetrics(processor: makeStep().name, registry: registry), logger: logger, makeStep: makeStep)
        }
        if let delivery = configuration.delivery, serves(DeliverProcessor.stream) {
            let partitions: Int
            switch configuration.storage {
            case .sqlite: partitions = delivery.partitions ?? 1
            case .postgres: partitions = delivery.partitions ?? DeliveryConfiguration.defaultSharedPartitions
            }
            processors.append(
                DeliverProcessor(storage: storage, configuration: delivery, partitions: partitions, metrics: DeliveryMetrics(registry: registry, configuration: delivery), logger: logger))
        }
        if let uniqueUsers = configuration.uniqueUsers, serves(UniqueUsersStep.stream) {
            let unitMetrics = UniqueUsersMetrics(windowSeconds: uniqueUsers.windowSeconds, registry: registry)
            let publisher = uniqueUsers.resultsURL.map { ResultsPublisher(url: $0, metrics: unitMetrics, logger: logger) }
            processors.append(runner(quick) { UniqueUsersStep(configuration: uniqueUsers, metrics: unitMetrics, publish: { publisher?.publish($0) }) })
            if let publisher { processors.append(publisher) }
        }
        if let accounts = configuration.accounts, serves(AccountsStep.stream) {
            let accountsMetrics = AccountsMetrics(registry: registry)
            let claims = CallbackClaims()
            let dispatcher = CallbackDispatcher(
                state: storage.state, coordination: storage.coordination, configuration: accounts, metrics: accountsMetrics, claims: claims, logger: logger)
            processors.append(
                runner(quick) { AccountsStep(configuration: accounts, metrics: accountsMetrics, claims: claims, scheduled: dispatcher.scheduled(dueAtMs:)) })
            processors.append(dispatcher)
        }
        if configuration.domains, serves(DomainsStep.stream) {
            processors.append(runner(quick) { DomainsStep() })
        }
        if let logStore = configuration.logStore, serves(LogStoreStep.stream) {
            processors.append(runner(BatchFlushPolicy(maxEvents: logStore.batchSize, maxDelay: logStore.flushInterval)) { LogStoreStep() })
        }
        return processors
    }

    /// The status routes on a port of their own (`--metrics-port`), or none.
    static func metricsServer(_ configuration: ServerConfiguration, log: any EventLog, metrics: ServerMetrics, logger: Logger) -> [any Service] {
        guard let port = configuration.metricsPort else { return [] }
        let router = Router(context: BasicRequestContext.self)
        StatusController(log: log, metrics: metrics).addRoutes(to: router)
        let host = configuration.metricsHost ?? configuration.host
        return [
            Application(
                router: router,
                server: .guardedHTTP1(limits: configuration.connections),
                configuration: ApplicationConfiguration(
                    address: .hostname(host, port: port), serverName: "eventflow-metrics",
                    availableConnectionsDelegate: .maximum(configuration.connections.maxConnections, logger: logger)),
                onServerRunning: { channel in
                    logger.info("metrics listening", metadata: ["address": "\(host):\(channel.localAddress?.port ?? port)"])
                },
                logger: logger)
        ]
    }

    static func build(
        configuration: ServerConfiguration, storage: EventStorage, metrics: ServerMetrics, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let log = storage.log
        let router = Router(context: BasicRequestContext.self)
        metrics.publishPendingLimits(configuration.groupCommit)
        let apiKey = APIKey(configuration.apiKey)
        StatusController(log: log, metrics: configuration.metricsPort == nil ? metrics : nil).addRoutes(to: router)
        IngestController(
            log: log,
            parsers: Dictionary(uniqueKeysWithValues: configuration.streams.map { ($0.name, IngestParser(schema: $0)) }),
            metrics: metrics, apiKey: apiKey, maxBodyBytes: configuration.maxBodyBytes, maxFutureSkew: configuration.maxFutureSkew,
            inflight: ByteBudget(limit: configuration.connections.maxInflightBodyBytes),
            acceptsEvents: configuration.role.ingests
        ).addRoutes(to: router)
        let readRoutes = router.group()
        if let apiKey { readRoutes.add(middleware: APIKeyMiddleware(key: apiKey)) }
        let pages = ByteBudget(limit: configuration.connections.maxInflightReadBytes)
        StreamReadController(log: log, maxBodyBytes: configuration.maxBodyBytes, pages: pages).addRoutes(to: readRoutes)
        DeadLetterController(log: log, deadLetters: storage.deadLetters, maxBodyBytes: configuration.maxBodyBytes, pages: pages).addRoutes(to: readRoutes)
        func serves(_ stream: String) -> Bool { configuration.streams.contains { $0.name == stream } }
        if let uniqueUsers = configuration.uniqueUsers, serves(UniqueUsersStep.stream) {
            UniqueUsersController(state: storage.state, configuration: uniqueUsers).addRoutes(to: readRoutes)
        }
        if configuration.accounts != nil, serves(AccountsStep.stream) { AccountsController(state: storage.state).addRoutes(to: readRoutes) }
        if configuration.domains, serves(DomainsStep.stream) { DomainsController(state: storage.state).addRoutes(to: readRoutes) }
        if configuration.logStore != nil, serves(LogStoreStep.stream) { LogStoreController(state: storage.state).addRoutes(to: readRoutes) }
        router.methodNotAllowed("/v1/streams", allowed: [.get])

        return Application(
            router: router,
            server: .guardedHTTP1(limits: configuration.connections),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "eventflow",
                backlog: configuration.connections.listenBacklog,
                availableConnectionsDelegate: .maximum(configuration.connections.maxConnections, logger: logger)),
            services: [storage.service, MetricsSampler(log: log, state: storage.state, metrics: metrics, logger: logger)]
                + metricsServer(configuration, log: log, metrics: metrics, logger: logger)
                + processors(configuration, storage: storage, metrics: metrics, logger: logger)
                + retention(configuration, storage: storage, metrics: metrics, logger: logger),
            onServerRunning: { await onServerRunning($0.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
