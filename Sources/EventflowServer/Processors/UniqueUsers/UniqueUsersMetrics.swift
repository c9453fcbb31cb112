import EventflowMetrics
import Prometheus

/// Metrics of the `unique-users` processor.
struct UniqueUsersMetrics: Sendable {
    let lateDropped: Counter
    let emitted: Counter
    let publishFailures: Counter
    let retryAfterClamped: Counter
    /// Windows not yet final, by window size in seconds.
    let openWindows: [Int64: Gauge]

    init(windowSeconds: [Int64], registry: PrometheusCollectorRegistry) {
        lateDropped = registry.counter(
            "eventflow_frames_late_dropped_total", help: "Frames that arrived after their window was final; counted in its late_dropped, not in its users")
        emitted = registry.counter("eventflow_unique_users_results_emitted_total", help: "Window results emitted: first results, updates and final results")
        publishFailures = registry.counter(
            "eventflow_unique_users_results_publish_failures_total", help: "Emitted results the results URL did not accept after all retries")
        retryAfterClamped = PeerClient.retryAfterClampedCounter(peer: "results", registry: registry)
        openWindows = Dictionary(
            uniqueKeysWithValues: windowSeconds.map {
                ($0, registry.gauge("eventflow_unique_users_open_windows", labels: [("window", UniqueUsersConfiguration.windowText($0))],
                    help: "Windows not yet final, whose users are held in memory"))
            })
    }
}
