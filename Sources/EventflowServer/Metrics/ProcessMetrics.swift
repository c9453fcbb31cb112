import Prometheus
import Synchronization

/// The standard `process_*` metrics, refreshed on every scrape.
final class ProcessMetrics: Sendable {
    private let cpu: Counter
    private let resident: Gauge
    private let virtual: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already added to the counter.
    private let reportedCPU = Mutex(0.0)

    init(registry: PrometheusCollectorRegistry) {
        cpu = registry.makeCounter(name: "process_cpu_seconds_total", labels: [], help: "Total user and system CPU time spent in seconds.")
        resident = registry.makeGauge(name: "process_resident_memory_bytes", labels: [], help: "Resident memory size in bytes.")
        virtual = registry.makeGauge(name: "process_virtual_memory_bytes", labels: [], help: "Virtual memory size in bytes.")
        openFDs = registry.makeGauge(name: "process_open_fds", labels: [], help: "Number of open file descriptors.")
        maxFDs = registry.makeGauge(name: "process_max_fds", labels: [], help: "Maximum number of open file descriptors.")
        startTime = registry.makeGauge(
            name: "process_start_time_seconds", labels: [], help: "Start time of the process since unix epoch in seconds.")
        update()
    }

    func update() {
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
