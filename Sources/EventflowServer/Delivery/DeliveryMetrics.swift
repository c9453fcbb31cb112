import EventflowCore
import EventflowMetrics
import Prometheus

/// Metrics of the `deliver` processor.
struct DeliveryMetrics: Sendable {
    private let attempts: [String: Counter]
    let delivered: Counter
    let deadLetters: Counter
    let duration: DurationHistogram
    let headBlocked: Gauge
    let rateLimit: Gauge
    let inFlight: Gauge
    let partitionsHeld: Gauge
    let retryAfterClamped: Counter
    let deletedUnprocessed: Counter

    /// `configuration` is published once, as `eventflow_delivery_configured{setting}`: what
    /// a test of a deployed system needs to know to hold the target and the ordering to it.
    init(registry: PrometheusCollectorRegistry, configuration: DeliveryConfiguration) {
        let settings: [(String, Double)] = [
            ("rate_limit_requests_per_second", configuration.targetRate ?? 0),
            ("burst_requests", configuration.targetRate == nil ? 0 : configuration.targetBurst ?? configuration.targetRate ?? 0),
            ("batch_events", Double(configuration.batchSize)),
            ("ordering_window_seconds", configuration.orderingWindow),
            ("max_retry_after_seconds", configuration.retry.maxRetryAfter),
        ]
        for (setting, value) in settings {
            registry.gauge(
                "eventflow_delivery_configured", labels: [("setting", setting)],
                help: "Delivery's settings: rate limit (0: none) and burst in requests, events per request, ordering window and longest Retry-After honoured in seconds"
            ).set(value)
        }
        var attempts: [String: Counter] = [:]
        for outcome in ["ok", "throttled", "error", "timeout", "dead_letter"] {
            attempts[outcome] = registry.counter(
                "eventflow_delivery_attempts_total", labels: [("outcome", outcome)], help: "Delivery requests to the target, by outcome")
        }
        self.attempts = attempts
        delivered = registry.counter("eventflow_delivered_events_total", help: "Events the target accepted")
        deadLetters = registry.counter("eventflow_delivery_dead_letters_total", help: "Events the target rejected permanently, now in the dead letters")
        deletedUnprocessed = registry.counter(
            "eventflow_delivery_deleted_unprocessed_events_total",
            help: "Events retention had deleted before delivery came to them (a partition started after they were deleted)")
        duration = registry.durationHistogram(
            "eventflow_delivery_duration_seconds", buckets: ServerMetrics.requestBuckets, help: "Duration of one delivery request to the target")
        headBlocked = registry.gauge(
            "eventflow_delivery_head_blocked_seconds",
            help: "How long later events have been held back behind an undelivered event older than the ordering window")
        rateLimit = registry.gauge("eventflow_delivery_rate_limit_requests_per_second", help: "Rate the delivery limiter allows now (0: unlimited)")
        inFlight = registry.gauge("eventflow_delivery_requests_in_flight", help: "Delivery requests waiting for the target")
        partitionsHeld = registry.gauge(
            "eventflow_delivery_partitions_held", help: "Partitions of stream events this process delivers now (their leases are its own)")
        retryAfterClamped = PeerClient.retryAfterClampedCounter(peer: "target", registry: registry)
    }

    func recordAttempt(_ outcome: DeliveryOutcome, duration: Duration) {
        attempts[outcome.metricLabel]?.increment()
        self.duration.record(duration)
    }
}
