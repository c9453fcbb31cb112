import EventflowCore
import EventflowLog
import Logging
import Prometheus
import ServiceLifecycle

/// Once a second: updates the measured peak rate per stream, the backlog of every
/// processor, and the process metrics.
struct MetricsSampler: Service {
    let log: any EventLog
    let state: any ProcessorStateStore
    let metrics: ServerMetrics
    let logger: Logger
    let interval: Duration = .seconds(1)

    func run() async throws {
        let registry = metrics.registry
        var trackers = Dictionary(uniqueKeysWithValues: log.streams.map { ($0, PeakRateTracker()) })
        let peaks = Dictionary(
            uniqueKeysWithValues: log.streams.map {
                (
                    $0,
                    registry.gauge("eventflow_ingest_peak_events_per_second", labels: [("stream", $0)],
                        help: "Highest 10 s average ingest rate since start: the measured peak")
                )
            })
        let saturation = registry.gauge("eventflow_log_saturation_ratio", labels: [],
            help: "Events waiting for a commit relative to the pending limit; at 1 the collector answers 503")
        var last = ContinuousClock.now

        while !Task.isShuttingDownGracefully {
            try await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            let counts = metrics.takeEventCounts()
            for stream in log.streams {
                trackers[stream]?.record(events: counts[stream] ?? 0, over: elapsed.seconds)
                peaks[stream]?.set(trackers[stream]?.peak ?? 0)
            }
            saturation.set(log.health.saturation)
            do {
                for entry in try await state.backlog() {
                    let labels = [("stream", entry.stream), ("processor", entry.processor)]
                    registry.gauge("eventflow_log_backlog_events", labels: labels, help: "Events committed to a stream and not yet processed"
                    ).set(Double(entry.events))
                    registry.gauge("eventflow_log_oldest_unprocessed_age_seconds", labels: labels,
                        help: "Age of the oldest event a processor has not processed yet"
                    ).set(entry.oldestUnprocessedAgeSeconds)
                }
            } catch {
                logger.warning("reading the backlog failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
