public import ArgumentParser
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

    @Option(name: .customLong("data-dir"), help: "Directory of the embedded log (default: ./data).")
    var dataDir: String?

    @Option(help: "YAML config file: server, storage, group_commit and extra streams (default: none).")
    var config: String?

    @Option(
        name: .customLong("api-key"),
        help: "Require this key on ingest and read routes as X-Api-Key or Authorization: Bearer (default: $EVENTFLOW_API_KEY, else none).")
    var apiKey: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger ones get 413 (default: 4194304).")
    var maxBodyBytes: Int?

    @Option(
        name: .customLong("max-pending-events"),
        help: "Events waiting for a commit beyond which requests get 503 with Retry-After (default: 200000).")
    var maxPendingEvents: Int?

    @Option(name: .customLong("log-level"), help: "How much to log.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "eventflow")
        let configuration = try resolvedConfiguration()
        let app = try await EventflowApplication.build(configuration: configuration, logger: logger)
        logger.info(
            "eventflow starting",
            metadata: [
                "address": "\(configuration.host):\(configuration.port)", "data_dir": "\(configuration.dataDirectory)",
                "streams": "\(configuration.streams.map(\.name).joined(separator: ","))",
            ])
        try await app.runService()
        logger.info("eventflow stopped")
    }

    func resolvedConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let config { try ConfigFile.load(path: config).apply(to: &configuration) }
        configuration.host = host ?? configuration.host
        configuration.port = port ?? configuration.port
        configuration.dataDirectory = dataDir ?? configuration.dataDirectory
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["EVENTFLOW_API_KEY"] ?? configuration.apiKey
        configuration.maxBodyBytes = maxBodyBytes ?? configuration.maxBodyBytes
        if let maxPendingEvents { configuration.groupCommit.maxPendingEvents = maxPendingEvents }
        return configuration
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
