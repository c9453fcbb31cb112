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

    init(registry: PrometheusCollectorRegistry) {
        var attempts: [String: Counter] = [:]
        for outcome in ["ok", "throttled", "error", "timeout", "dead_letter"] {
            attempts[outcome] = registry.counter(
                "eventflow_delivery_attempts_total", labels: [("outcome", outcome)], help: "Delivery requests to the target, by outcome")
        }
        self.attempts = attempts
        delivered = registry.counter("eventflow_delivered_events_total", help: "Events the target accepted")
        deadLetters = registry.counter("eventflow_delivery_dead_letters_total", help: "Events the target rejected permanently, now in the dead letters")
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
