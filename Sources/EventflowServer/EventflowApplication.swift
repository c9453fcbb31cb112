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
    /// Opens the log in the configured data directory and builds the application.
    public static func build(configuration: ServerConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
        let metrics = ServerMetrics(streams: configuration.streams.map(\.name))
        let log = try await SQLiteEventLog.open(
            configuration: LogConfiguration(
                dataDirectory: configuration.dataDirectory,
                streams: configuration.streams.map(\.name),
                groupCommit: configuration.groupCommit,
                maxCommitDelay: configuration.maxCommitDelay,
                maxDatabaseBytes: configuration.maxDatabaseBytes,
                onCommit: { metrics.recordCommit($0) }),
            logger: logger)
        return build(configuration: configuration, log: log, logService: log, metrics: metrics, logger: logger)
    }

    /// The processors that read the log, started after it and stopped before it.
    static func processors(_ configuration: ServerConfiguration, log: any EventLog, metrics: ServerMetrics, logger: Logger) -> [any Service] {
        var processors: [any Service] = []
        if let delivery = configuration.delivery, configuration.streams.contains(where: { $0.name == DeliverProcessor.stream }) {
            processors.append(
                DeliverProcessor(log: log, configuration: delivery, metrics: DeliveryMetrics(registry: metrics.registry), logger: logger))
        }
        return processors
    }

    static func build(
        configuration: ServerConfiguration, log: any EventLog, logService: any Service, metrics: ServerMetrics, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let apiKey = APIKey(configuration.apiKey)
        StatusController(log: log, metrics: metrics).addRoutes(to: router)
        IngestController(
            log: log,
            parsers: Dictionary(uniqueKeysWithValues: configuration.streams.map { ($0.name, IngestParser(schema: $0)) }),
            metrics: metrics, apiKey: apiKey, maxBodyBytes: configuration.maxBodyBytes
        ).addRoutes(to: router)
        let readRoutes = router.group()
        if let apiKey { readRoutes.add(middleware: APIKeyMiddleware(key: apiKey)) }
        StreamReadController(log: log).addRoutes(to: readRoutes)
        DeadLetterController(log: log).addRoutes(to: readRoutes)
        router.methodNotAllowed("/v1/streams", allowed: [.get])

        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "eventflow"),
            services: [logService, MetricsSampler(log: log, metrics: metrics, logger: logger)] + processors(configuration, log: log, metrics: metrics, logger: logger),
            logger: logger)
    }
}
