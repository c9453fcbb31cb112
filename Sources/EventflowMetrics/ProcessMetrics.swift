public import Prometheus
import Synchronization

/// The standard `process_*` metrics, refreshed on every scrape.
public final class ProcessMetrics: Sendable {
    private let cpu: Counter
    private let resident: Gauge
    private let virtual: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already added to the counter.
    private let reportedCPU = Mutex(0.0)

    public init(registry: PrometheusCollectorRegistry) {
        cpu = registry.counter("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        resident = registry.gauge("process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtual = registry.gauge("process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        openFDs = registry.gauge("process_open_fds", help: "Number of open file descriptors.")
        maxFDs = registry.gauge("process_max_fds", help: "Maximum number of open file descriptors.")
        startTime = registry.gauge("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.")
        update()
    }

    /// Reads `/proc` and sets every process metric.
    public func update() {
        guard let stats = ProcessStats.read() else { return }
        let added = reportedCPU.withLock { reported in
            defer { reported = max(reported, stats.cpuSeconds) }
            return stats.cpuSeconds - reported
        }
        if added > 0 { cpu.increment(by: added) }
        resident.set(stats.residentBytes)
        virtual.set(stats.virtualBytes)
        openFDs.set(stats.openFileDescriptors)
        maxFDs.set(stats.maxFileDescriptors)
        startTime.set(stats.startTimeSeconds)
    }
}

extension PrometheusCollectorRegistry {
    /// The exposition text of every metric in the registry.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        emit(into: &buffer)
        return buffer
    }
}

extension PrometheusCollectorRegistry {
    /// A counter with HELP text; the same name and labels return the same counter.
    public func counter(_ name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// A gauge with HELP text; the same name and labels return the same gauge.
    public func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// A histogram of durations (exposed in seconds) with HELP text.
    public func durationHistogram(_ name: String, labels: [(String, String)] = [], buckets: [Duration], help: String) -> DurationHistogram {
        makeDurationHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
