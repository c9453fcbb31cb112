public import ArgumentParser
import EventflowCore
import EventflowServer
import Foundation
import Hummingbird
public import Logging

/// `eventflow serve`: the collector, the log and the processors in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the collector and the durable log.",
        discussion: """
            Stops gracefully on SIGTERM or SIGINT: stops accepting, finishes in-flight commits, \
            closes the log, exits 0. Flags win over the config file; the config file wins over defaults.
            """
    )

    @Option(help: "Interface to listen on (default: 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (default: 8080).")
    var port: Int?

    @Option(
        name: .customLong("metrics-port"),
        help: "Serve /metrics on this port only (with /healthz and /readyz), not on --port, so that the figures stay on an internal address (default: none, /metrics on --port).")
    var metricsPort: Int?

    @Option(name: .customLong("metrics-host"), help: "Interface the metrics port listens on (default: the --host).")
    var metricsHost: String?

    @Option(name: .customLong("data-dir"), help: "Directory of the embedded log (default: ./data).")
    var dataDir: String?

    @Option(
        name: .customLong("storage"),
        help: "Where the log is kept: sqlite (embedded, one process) or postgres (shared by several processes) (default: sqlite, or postgres when --postgres-url is given).")
    var storage: String?

    @Option(
        name: .customLong("postgres-url"),
        help: "PostgreSQL URL for --storage postgres, e.g. postgres://eventflow@127.0.0.1:5432/eventflow (default: $EVENTFLOW_POSTGRES_URL).")
    var postgresURL: String?

    @Option(
        name: .customLong("role"),
        help: "all: ingest and process; collector: ingest only; processor: process only. Roles other than all need --storage postgres (default: all).")
    var role: String?

    @Option(
        name: .customLong("lease-duration"),
        help: "How long a processor's lease on a shared log lasts unrenewed: the longest its stream waits after its process died (default: 5s).")
    var leaseDuration: String?

    @Option(
        help: """
            How long events are kept once every processor and delivery partition has passed them, e.g. 7d or 12h; \
            an event not yet processed is never deleted (default: kept for ever).
            """)
    var retention: String?

    @Option(help: "YAML config file: server, storage, group_commit and extra streams (default: none).")
    var config: String?

    @Option(
        name: .customLong("api-key"),
        help: "Require this key on ingest and read routes as X-Api-Key or Authorization: Bearer (default: $EVENTFLOW_API_KEY when not empty, else the config file's, else none).")
    var apiKey: String?

    @Option(
        name: .customLong("api-key-file"),
        help: "Read the API key from this file (its content without the trailing newline), so that it shows in no process list (default: none).")
    var apiKeyFile: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger ones get 413 (default: 4194304).")
    var maxBodyBytes: Int?

    @Option(
        name: .customLong("max-pending-events"),
        help: "Events waiting for a commit beyond which requests get 503 with Retry-After (default: 200000).")
    var maxPendingEvents: Int?

    @Option(name: .customLong("log-level"), help: "How much to log.")
    var logLevel: Logger.Level = .info

    @OptionGroup(title: "Limits at the edge")
    var edge: EdgeOptions

    @OptionGroup(title: "Delivery to the target (stream events)")
    var delivery: DeliveryOptions

    @OptionGroup(title: "Processors of frames, accounts, domains and logs")
    var processors: ProcessorOptions

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let logger = Logger(label: "eventflow")
        let configuration = try resolvedConfiguration()
        if configuration.apiKey == nil, !Self.isLoopback(configuration.host) {
            logger.warning(
                "listening beyond loopback without an API key: anyone who reaches this port can send and read events; set --api-key-file or EVENTFLOW_API_KEY",
                metadata: ["host": "\(configuration.host)"])
        }
        FileLimit.raiseToHardLimit(logger: logger)
        let app = try await EventflowApplication.build(configuration: configuration, logger: logger)
        logger.info(
            "eventflow starting",
            metadata: [
                "address": "\(configuration.host):\(configuration.port)", "role": "\(configuration.role.rawValue)",
                "metrics": "\(configuration.metricsPort.map { "\(configuration.metricsHost ?? configuration.host):\($0)" } ?? "on the address")",
                "storage": "\(configuration.storageDescription)",
                "streams": "\(configuration.streams.map(\.name).joined(separator: ","))",
            ])
        try await app.runService()
        logger.info("eventflow stopped")
    }

    func resolvedConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let config { try ConfigFile.load(path: config).apply(to: &configuration) }
        configuration.host = host ?? configuration.host
        if let port { configuration.port = try ServerConfiguration.checkedPort(port, setting: "--port") }
        if let metricsPort { configuration.metricsPort = try ServerConfiguration.checkedPort(metricsPort, setting: "--metrics-port") }
        configuration.metricsHost = metricsHost ?? configuration.metricsHost
        if configuration.metricsHost != nil, configuration.metricsPort == nil {
            throw ValidationError("--metrics-host (or server.metrics_host) needs --metrics-port (or server.metrics_port)")
        }
        configuration.dataDirectory = dataDir ?? configuration.dataDirectory
        let environmentURL = storage == "postgres" ? ProcessInfo.processInfo.environment["EVENTFLOW_POSTGRES_URL"] : nil
        try StorageSettings(engine: storage, postgresURL: postgresURL ?? environmentURL, leaseDuration: leaseDuration, retention: retention, keyPrefix: "--")
            .apply(to: &configuration)
        if let role { configuration.role = try StorageSettings.role(role, key: "--role") }
        if configuration.role != .all, configuration.storage == .sqlite {
            throw ConfigError("--role \(configuration.role.rawValue) shares the log with other processes: it needs --storage postgres and --postgres-url")
        }
        if let environmentKey = APIKeySource.environmentKey() { configuration.apiKey = environmentKey }
        if let apiKey { configuration.apiKey = try APIKeySource.key(apiKey, from: "--api-key") }
        if let apiKeyFile { configuration.apiKey = try APIKeySource.key(fromFile: apiKeyFile, setting: "--api-key-file") }
        if let maxBodyBytes {
            guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
            configuration.maxBodyBytes = maxBodyBytes
        }
        if let maxPendingEvents {
            guard maxPendingEvents > 0 else { throw ValidationError("--max-pending-events must be positive") }
            configuration.groupCommit.maxPendingEvents = maxPendingEvents
        }
        configuration.delivery = try delivery.configuration()
        try processors.apply(to: &configuration)
        try edge.apply(to: &configuration)
        return configuration
    }
}

extension Serve {
    /// Whether `host` only listens on this machine.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The flags bounding what clients and peers can cost: connection timeouts and count,
/// event-time skew, and the longest `Retry-After` honoured.
struct EdgeOptions: ParsableArguments {
    @Option(name: .customLong("idle-timeout"), help: "Close a keep-alive connection with no request for this long (default: 60s).")
    var idleTimeout: String?

    @Option(
        name: .customLong("header-timeout"),
        help: "Close a connection whose request head has not fully arrived this long after its first byte (slowloris) (default: 10s).")
    var headerTimeout: String?

    @Option(name: .customLong("body-timeout"), help: "Close a connection whose request body has not fully arrived this long after its head (default: 60s).")
    var bodyTimeout: String?

    @Option(
        name: .customLong("max-connections"),
        help: "Connections open at once at most; beyond it new connections wait in the listen backlog until one closes (default: 10000).")
    var maxConnections: Int?

    @Option(
        name: .customLong("max-future-skew"),
        help: "How far ahead of the server's clock an event time may lie; later ones get 400 naming the field (default: 1h).")
    var maxFutureSkew: String?

    @Option(
        name: .customLong("max-retry-after"),
        help: "The longest pause a target's or callback receiver's Retry-After may impose; longer ones are clamped and counted (default: 1h).")
    var maxRetryAfter: String?

    @Option(
        name: .customLong("max-inflight-body-bytes"),
        help: "Bytes of request bodies read at once before the log admits them; a request past it gets 503 with Retry-After before its body is read (default: 268435456).")
    var maxInflightBodyBytes: Int?

    @Option(
        name: .customLong("max-inflight-read-bytes"),
        help: "Bytes of read-API pages (events, dead letters) built and written at once; each reserves what it may hold (4 MiB of bodies or the body limit, whichever is larger, plus 512 bytes an event or 10 KiB a dead letter), and one past it gets 503 with Retry-After (default: 67108864).")
    var maxInflightReadBytes: Int?

    func apply(to configuration: inout ServerConfiguration) throws {
        let settings = EdgeSettings(
            idleTimeout: idleTimeout, headerTimeout: headerTimeout, bodyTimeout: bodyTimeout, maxConnections: maxConnections,
            maxFutureSkew: maxFutureSkew, maxRetryAfter: maxRetryAfter, maxInflightBodyBytes: maxInflightBodyBytes,
            maxInflightReadBytes: maxInflightReadBytes)
        do {
            try settings.apply(to: &configuration, naming: \.flag)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// The flags of the `deliver` processor.
struct DeliveryOptions: ParsableArguments {
    @Option(name: .customLong("target-url"), help: "Where events are delivered.")
    var targetURL = "http://127.0.0.1:9090/deliver"

    @Option(name: .customLong("target-rate"), help: "The target's rate limit in requests/s; delivery stays just under it (default: unlimited).")
    var targetRate: Double?

    @Option(name: .customLong("target-burst"), help: "The target's burst (default: the rate).")
    var targetBurst: Double?

    @Option(name: .customLong("target-batch"), help: "Events per request; more than 1 sends JSON arrays.")
    var targetBatch = 1

    @Option(name: .customLong("target-concurrency"), help: "Requests in flight at once, in this process.")
    var targetConcurrency = 32

    @Option(
        name: .customLong("deliver-partitions"),
        help: ArgumentHelp(
            "Partitions of stream events for delivery, each with its own cursor and lease, so several processor processes deliver at once (default: 1 with SQLite, 4 with PostgreSQL).",
            discussion: "Every process sharing one log must use the same number; a process refuses to start when the log's cursors are cut differently, or when the log recorded another number first."))
    var deliverPartitions: Int?

    @Option(name: .customLong("target-timeout-ms"), help: "Timeout of one delivery request.")
    var targetTimeoutMs = 5_000

    @Option(name: .customLong("ordering-window"), help: "Seconds an undelivered event may be overtaken before later events are held back.")
    var orderingWindow = 60.0

    @Option(name: .customLong("retry-initial-ms"), help: "First backoff ceiling after a failed delivery.")
    var retryInitialMs = 100.0

    @Option(name: .customLong("retry-max-ms"), help: "Largest backoff ceiling.")
    var retryMaxMs = 10_000.0

    @Option(name: .customLong("retry-multiplier"), help: "Growth of the backoff ceiling per failure.")
    var retryMultiplier = 2.0

    @Option(name: .customLong("enrich"), help: "FIELD=VALUE added to every delivered event; repeatable (default: brand=testBrand).")
    var enrich: [String] = []

    @Flag(name: .customLong("no-delivery"), help: "Do not run the deliver processor (events stay in the log).")
    var noDelivery = false

    func configuration() throws -> DeliveryConfiguration? {
        guard !noDelivery else { return nil }
        guard targetBatch >= 1, targetConcurrency >= 1, targetTimeoutMs > 0, orderingWindow > 0, orderingWindow <= DurationText.maxSeconds else {
            throw ValidationError("--target-batch, --target-concurrency, --target-timeout-ms and --ordering-window must be positive")
        }
        guard retryInitialMs > 0, retryMaxMs >= retryInitialMs, retryMaxMs <= DurationText.maxSeconds * 1000, retryMultiplier >= 1,
            retryMultiplier.isFinite
        else {
            throw ValidationError("backoff needs 0 < --retry-initial-ms <= --retry-max-ms (finite) and a finite --retry-multiplier >= 1")
        }
        if let targetRate, !(targetRate > 0 && targetRate.isFinite) { throw ValidationError("--target-rate must be a positive number") }
        if let targetBurst, !(targetBurst > 0 && targetBurst.isFinite) { throw ValidationError("--target-burst must be a positive number") }
        if let deliverPartitions, !(1...1024).contains(deliverPartitions) { throw ValidationError("--deliver-partitions must be between 1 and 1024") }
        var enrichment = ["brand": "testBrand"]
        if !enrich.isEmpty {
            enrichment = [:]
            for pair in enrich {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--enrich takes FIELD=VALUE, got '\(pair)'") }
                enrichment[String(parts[0])] = String(parts[1])
            }
        }
        return DeliveryConfiguration(
            targetURL: targetURL, targetRate: targetRate, targetBurst: targetBurst, batchSize: targetBatch, concurrency: targetConcurrency,
            timeout: .milliseconds(targetTimeoutMs), orderingWindow: orderingWindow,
            retry: RetrySchedule(initial: retryInitialMs / 1000, maximum: retryMaxMs / 1000, multiplier: retryMultiplier),
            enrichment: enrichment, partitions: deliverPartitions)
    }
}
