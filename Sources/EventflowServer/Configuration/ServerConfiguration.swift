public import EventflowCore

/// Everything `eventflow serve` needs, resolved from defaults, the config file and flags.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// When set, ingest and read routes require it (`X-Api-Key` or `Authorization: Bearer`).
    public var apiKey: String?
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes: Int
    /// The streams served: the five defaults plus any from the config file.
    public var streams: [StreamSchema]
    public var groupCommit: GroupCommitLimits
    /// How long a commit may wait for more requests (0: commit as soon as the writer is free).
    public var maxCommitDelay: Duration
    /// Cap on the log's database size; beyond it appends fail with 503 as on a full disk.
    public var maxDatabaseBytes: Int?
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
    /// committing it (they commit sooner when 5,000 events wait), seconds.
    public var processorCommitInterval = 0.05

    public static let defaultMaxBodyBytes = 4 << 20

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
