import EventflowMetrics
import Prometheus

/// What every processor reports: events processed, commits and their duration, restarts.
struct ProcessorMetrics: Sendable {
    let events: Counter
    let commitDuration: DurationHistogram
    let restarts: Counter
    let deletedUnprocessed: Counter

    init(processor: String, registry: PrometheusCollectorRegistry) {
        let labels = [("processor", processor)]
        events = registry.counter("eventflow_processor_events_total", labels: labels, help: "Events a processor applied and committed")
        commitDuration = registry.durationHistogram(
            "eventflow_processor_commit_duration_seconds", labels: labels, buckets: ServerMetrics.requestBuckets,
            help: "Duration of one processor commit: its state changes and cursor in one transaction")
        restarts = registry.counter(
            "eventflow_processor_restarts_total", labels: labels, help: "Times a processor failed and restarted from its last commit")
        deletedUnprocessed = registry.counter(
            "eventflow_processor_deleted_unprocessed_events_total", labels: labels,
            help: "Events retention had deleted before the processor came to them (a processor started after they were deleted)")
    }
}
