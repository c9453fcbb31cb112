public import EventflowCore
public import EventflowLog

/// Where the log is kept.
public enum LogStorage: Sendable, Equatable {
    /// The embedded SQLite log in the data directory: one process.
    case sqlite
    /// A PostgreSQL database that any number of collector and processor processes share.
    case postgres(PostgresURL)
}

/// What one process does; processes of every role can share a PostgreSQL log.
public enum ServerRole: String, Sendable, CaseIterable {
    /// Ingest and process.
    case all
    /// Ingest only; processors run elsewhere.
    case collector
    /// Process only; ingest routes answer 421 and name the collector role.
    case processor

    public var ingests: Bool { self != .processor }
    public var processes: Bool { self != .collector }
}

/// Everything `eventflow serve` needs, resolved from defaults, the config file and flags.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// When set, `/metrics` is served on this port only (with `/healthz` and `/readyz`),
    /// not on `port`: ingest can face clients while the figures stay on an internal address.
    public var metricsPort: Int?
    /// The interface the metrics port listens on; nil: `host`.
    public var metricsHost: String?
    public var dataDirectory: String
    public var storage: LogStorage = .sqlite
    public var role: ServerRole = .all
    /// How long a processor's lease on a shared log lasts without renewal: the longest a
    /// stream waits for another process after the one processing it died.
    public var leaseDuration: Duration = .seconds(5)
    /// When set, ingest and read routes require it (`X-Api-Key` or `Authorization: Bearer`).
    public var apiKey: String?
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int
    /// How long connections may idle or take over a request, and how many may be open.
    public var connections = ConnectionLimits()
    /// How far ahead of the server's clock an event time may lie; later ones get 400.
    public var maxFutureSkew: Duration = .seconds(3600)
    /// The streams served: the five defaults plus any from the config file.
    public var streams: [StreamSchema]
    public var groupCommit: GroupCommitLimits
    /// How long a commit may wait for more requests (0: commit as soon as the writer is free).
    public var maxCommitDelay: Duration
    /// Cap on the log's database size; beyond it appends fail with 503 as on a full disk.
    public var maxDatabaseBytes: Int?
    /// How long events are kept after every processor has passed them; nil keeps them for ever.
    public var retention: Duration?
    /// The `deliver` processor's settings; nil runs no delivery.
    public var delivery: DeliveryConfiguration?
    /// The `unique-users` processor's settings; nil runs none.
    public var uniqueUsers: UniqueUsersConfiguration? = UniqueUsersConfiguration()
    /// The `accounts` processor's settings; nil runs none.
    public var accounts: AccountsConfiguration? = AccountsConfiguration()
    /// Whether the `domains` processor runs.
    public var domains = true
    /// The `log-store` processor's settings; nil runs none.
    public var logStore: LogStoreConfiguration? = LogStoreConfiguration()
    /// How long `unique-users`, `accounts` and `domains` hold what they read before
    /// committing it (they commit sooner when 5,000 events wait), seconds. Each commit
    /// shares the log's single writer with ingest: at 5x peak, 200 ms instead of 50 ms
    /// took the ingest p50 from 11–18 ms to 4–7 ms.
    public var processorCommitInterval = 0.2

    public static let defaultMaxBodyBytes = 4 << 20

    /// Checks a port given as `setting` (a flag or config key): 0 (any free port) to 65535.
    public static func checkedPort(_ port: Int, setting: String) throws(ConfigError) -> Int {
        guard (0...65_535).contains(port) else { throw ConfigError("\(setting) must be a port from 0 to 65535 (got \(port))") }
        return port
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: String = "./data",
        apiKey: String? = nil,
        maxBodyBytes: Int = ServerConfiguration.defaultMaxBodyBytes,
        streams: [StreamSchema] = StreamSchema.defaults,
        groupCommit: GroupCommitLimits = GroupCommitLimits(),
        maxCommitDelay: Duration = .zero,
        maxDatabaseBytes: Int? = nil,
        delivery: DeliveryConfiguration? = DeliveryConfiguration()
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
        self.streams = streams
        self.groupCommit = groupCommit
        self.maxCommitDelay = maxCommitDelay
        self.maxDatabaseBytes = maxDatabaseBytes
        self.delivery = delivery
    }
}

/// Bounds on the collector's connections, so that idle, slow or numerous clients cost
/// only themselves.
public struct ConnectionLimits: Sendable, Equatable {
    /// A keep-alive connection with no request for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// A request's head must arrive within this long of its first byte (slowloris).
    public var headerTimeout: Duration = .seconds(10)
    /// A request's body must arrive within this long of its head.
    public var bodyTimeout: Duration = .seconds(60)
    /// Connections open at once at most; beyond it new ones wait in the listen backlog
    /// until one closes.
    public var maxConnections = 10_000
    /// Connections the kernel completes and queues for accepting (capped by its
    /// `somaxconn`). With a short queue a burst of connects overflows it, and the clients
    /// overflowed wait seconds for the handshake to be retried.
    public var listenBacklog = 4096
    /// Bytes of request bodies being read at once, before the log admits them; a request
    /// that would pass it gets 503 with `Retry-After` before its body is read. With
    /// `maxConnections` it bounds what clients can make the process hold.
    public var maxInflightBodyBytes = 256 << 20
    /// Bytes of read-API pages being built and written at once; a read that would pass it
    /// gets 503 with `Retry-After`. Each page reserves its byte limit (below) up front.
    public var maxInflightReadBytes = 64 << 20

    public init() {}
}

extension ServerConfiguration {
    /// The log's location for logs and startup lines, without secrets.
    public var storageDescription: String {
        switch storage {
        case .sqlite: "sqlite \(dataDirectory)"
        case .postgres(let url): "postgres \(url.redacted)"
        }
    }
}
