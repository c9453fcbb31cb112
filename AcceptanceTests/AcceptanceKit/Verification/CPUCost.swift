/// What the system under test spent in CPU over a run, from its
/// `process_cpu_seconds_total` as scraped: in all, on average in cores, and per event
/// acknowledged, the figure a user pays for.
///
/// The CPU is summed over consecutive scrapes; a counter that went down means the process
/// restarted (a kill during the run), and the new process's count is added from its start.
public struct CPUCost: Sendable, Equatable {
    /// CPU seconds (user and system) the system used between the first and the last scrape.
    public var cpuSeconds: Double
    /// Wall-clock seconds between the first and the last scrape.
    public var wallSeconds: Double

    public init(cpuSeconds: Double, wallSeconds: Double) {
        self.cpuSeconds = cpuSeconds
        self.wallSeconds = wallSeconds
    }

    /// The cost over `samples` (time in ms, `process_cpu_seconds_total`) in time order; nil
    /// with fewer than two.
    public init?(samples: [(timestampMs: Int64, cpuSeconds: Double)]) {
        guard let first = samples.first, let last = samples.last, samples.count >= 2 else { return nil }
        var total = 0.0
        for (previous, next) in zip(samples, samples.dropFirst()) {
            total += next.cpuSeconds >= previous.cpuSeconds ? next.cpuSeconds - previous.cpuSeconds : next.cpuSeconds
        }
        self.init(cpuSeconds: total, wallSeconds: Double(last.timestampMs - first.timestampMs) / 1000)
    }

    /// Cores used on average.
    public var cores: Double { wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 }

    /// Microseconds of CPU per event; nil when no event was acknowledged.
    public func microsecondsPerEvent(_ events: Int) -> Double? {
        events > 0 ? cpuSeconds * 1_000_000 / Double(events) : nil
    }
}
