public import EventflowCore

/// Settings of the `deliver` processor: where events go and how fast, how failures are
/// retried, and how far deliveries may be reordered.
public struct DeliveryConfiguration: Sendable {
    public var targetURL: String
    /// The target's rate limit in requests per second; nil sends as fast as the target answers.
    public var targetRate: Double?
    /// The target's burst; defaults to the rate.
    public var targetBurst: Double?
    /// Events per request (sent as a JSON array when more than 1).
    public var batchSize: Int
    /// Requests in flight at once, in this process.
    public var concurrency: Int
    /// Partitions the stream is cut into for delivery, each with its own cursor and lease,
    /// so that several processes on one shared log deliver at once; nil: 1 on SQLite (one
    /// process), ``defaultSharedPartitions`` on PostgreSQL. Every process sharing a log must
    /// use the same number.
    public var partitions: Int?
    public var timeout: Duration
    /// Seconds an undelivered event may be overtaken before later ones are held back.
    public var orderingWindow: Double
    public var retry: RetrySchedule
    /// Fields added to every event (replacing top-level fields of the same name).
    public var enrichment: [String: String]
    /// Events read ahead of the cursor at most.
    public var readAhead: Int
    /// Bytes of event bodies read ahead and not yet delivered at most (across partitions);
    /// a single event larger than a partition's share is still read, alone.
    public var readAheadBytes: Int

    public init(
        targetURL: String = "http://127.0.0.1:9090/deliver",
        targetRate: Double? = nil,
        targetBurst: Double? = nil,
        batchSize: Int = 1,
        concurrency: Int = 32,
        timeout: Duration = .seconds(5),
        orderingWindow: Double = 60,
        retry: RetrySchedule = RetrySchedule(initial: 0.1, maximum: 10, multiplier: 2),
        enrichment: [String: String] = ["brand": "testBrand"],
        readAhead: Int = 20_000,
        readAheadBytes: Int = 64 << 20,
        partitions: Int? = nil
    ) {
        self.targetURL = targetURL
        self.targetRate = targetRate
        self.targetBurst = targetBurst
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.timeout = timeout
        self.orderingWindow = orderingWindow
        self.retry = retry
        self.enrichment = enrichment
        self.readAhead = readAhead
        self.readAheadBytes = readAheadBytes
        self.partitions = partitions
    }

    /// Partitions on a shared (PostgreSQL) log when none are configured: up to four
    /// processes deliver at once.
    public static let defaultSharedPartitions = 4
}
