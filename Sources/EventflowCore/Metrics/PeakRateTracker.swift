/// Tracks the highest average event rate over a sliding window (10 s by default):
/// the measured peak that load profiles multiply.
///
/// Fed once per tick with the events counted since the previous tick and the time
/// that passed, so it needs no clock of its own.
public struct PeakRateTracker: Sendable {
    public let windowSeconds: Double
    private var samples: [(events: Int, seconds: Double)] = []
    private var windowEvents = 0
    private var windowDuration = 0.0
    /// The highest window average seen, in events per second.
    public private(set) var peak = 0.0

    public init(windowSeconds: Double = 10) {
        self.windowSeconds = windowSeconds
    }

    /// The average over the last window, in events per second.
    public var currentRate: Double { Double(windowEvents) / windowSeconds }

    /// Adds `events` counted over `seconds`, drops samples older than the window, and
    /// updates the peak.
    public mutating func record(events: Int, over seconds: Double) {
        samples.append((events, seconds))
        windowEvents += events
        windowDuration += seconds
        while let oldest = samples.first, windowDuration - oldest.seconds >= windowSeconds - 1e-9 {
            samples.removeFirst()
            windowEvents -= oldest.events
            windowDuration -= oldest.seconds
        }
        peak = max(peak, currentRate)
    }
}
