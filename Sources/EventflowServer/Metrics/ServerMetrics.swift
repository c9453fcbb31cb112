import EventflowCore
public import EventflowLog
public import Prometheus
import EventflowMetrics
import Synchronization

/// The collector's Prometheus metrics, one registry per server instance.
///
/// Handles for every stream and status code are created up front, so the ingest path
/// only increments; names follow docs/metrics.md and pass `promtool check metrics`.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let perStream: [String: StreamMetrics]
    private let unknownStream: StreamMetrics
    private let appendDuration: DurationHistogram
    private let commitFailures: Counter
    private let countedEvents: Mutex<[String: Int]>
    let process: ProcessMetrics

    static let requestBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]
    static let statusCodes = [202, 400, 401, 404, 413, 415, 503]

    public init(streams: [String], registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var perStream: [String: StreamMetrics] = [:]
        for stream in streams {
            perStream[stream] = StreamMetrics(stream: stream, registry: registry)
        }
        self.perStream = perStream
        self.unknownStream = StreamMetrics(stream: "unknown", registry: registry)
        self.appendDuration = registry.durationHistogram("eventflow_log_append_duration_seconds", labels: [], buckets: Self.requestBuckets,
            help: "Duration of one group commit to the log: one observation per transaction")
        self.commitFailures = registry.counter("eventflow_log_commit_failures_total", help: "Group commits that failed; their requests got 503")
        self.process = ProcessMetrics(registry: registry)
        self.countedEvents = Mutex(Dictionary(uniqueKeysWithValues: streams.map { ($0, 0) }))
    }

    /// Records one finished ingest request.
    func recordRequest(stream: String, status: Int, events: Int, duration: Duration) {
        let metrics = perStream[stream] ?? unknownStream
        metrics.requests(status: status, registry: registry).increment()
        metrics.duration.record(duration)
        if events > 0 {
            metrics.events.increment(by: Int64(events))
            countedEvents.withLock { $0[stream, default: 0] += events }
        }
    }

    /// The exposition text of every metric, with the process metrics refreshed first.
    public func render() -> [UInt8] {
        process.update()
        return registry.render()
    }

    /// Records one group commit of the log.
    public func recordCommit(_ stats: CommitStats) {
        appendDuration.record(.nanoseconds(Int64(stats.durationSeconds * 1e9)))
        if !stats.succeeded { commitFailures.increment() }
    }

    /// Publishes the collector's limits on what waits for a commit, once, as
    /// `eventflow_log_configured{setting}`: a test of a deployed system reads them to know
    /// whether it can flood past them.
    func publishPendingLimits(_ limits: GroupCommitLimits) {
        for (setting, value) in [("max_pending_events", limits.maxPendingEvents), ("max_pending_bytes", limits.maxPendingBytes)] {
            registry.gauge(
                "eventflow_log_configured", labels: [("setting", setting)],
                help: "The collector's limits on what waits for a commit, in events and bytes; past either, ingest answers 503"
            ).set(Double(value))
        }
    }

    /// Events accepted per stream since the last call.
    func takeEventCounts() -> [String: Int] {
        countedEvents.withLock { counts in
            defer { for key in counts.keys { counts[key] = 0 } }
            return counts
        }
    }
}

/// The per-stream ingest metrics.
struct StreamMetrics: Sendable {
    let stream: String
    let events: Counter
    let duration: DurationHistogram
    let requestsByStatus: [Int: Counter]

    init(stream: String, registry: PrometheusCollectorRegistry) {
        self.stream = stream
        events = registry.counter("eventflow_ingest_events_total", labels: [("stream", stream)], help: "Events committed to the log by the collector")
        duration = registry.durationHistogram("eventflow_ingest_request_duration_seconds", labels: [("stream", stream)], buckets: ServerMetrics.requestBuckets,
            help: "Time from receiving an ingest request to answering it")
        var requestsByStatus: [Int: Counter] = [:]
        for status in ServerMetrics.statusCodes {
            requestsByStatus[status] = Self.makeRequestCounter(stream: stream, status: status, registry: registry)
        }
        self.requestsByStatus = requestsByStatus
    }

    func requests(status: Int, registry: PrometheusCollectorRegistry) -> Counter {
        requestsByStatus[status] ?? Self.makeRequestCounter(stream: stream, status: status, registry: registry)
    }

    private static func makeRequestCounter(stream: String, status: Int, registry: PrometheusCollectorRegistry) -> Counter {
        registry.counter("eventflow_ingest_requests_total", labels: [("stream", stream), ("code", String(status))],
            help: "Ingest requests answered, by stream and HTTP status code")
    }
}
