import EventflowCore

/// When the PostgreSQL writer may try to connect again after failing to.
///
/// While PostgreSQL is down a connection attempt fails at once, and the writer would retry
/// on every commit, hundreds of times a second. Between attempts it fails commits with the
/// last connection error instead; the waits grow from 100 ms to 2 s, jittered so that the
/// processes of a scale-out do not all knock at the same moment when it returns.
struct ReconnectPacing: Sendable {
    var schedule = RetrySchedule(initial: 0.1, maximum: 2, multiplier: 2)
    private var failures = 0
    private var notBefore: ContinuousClock.Instant?
    /// Why the last attempt failed, while waiting for the next one.
    private(set) var lastError: String?

    /// Whether to try connecting now; false while waiting after a failure.
    func mayConnect(at now: ContinuousClock.Instant) -> Bool {
        guard let notBefore else { return true }
        return now >= notBefore
    }

    /// Records a failed attempt; `random` is uniform in [0, 1) and spreads the wait over the
    /// upper half of its ceiling.
    mutating func failed(_ error: String, at now: ContinuousClock.Instant, random: Double) {
        failures += 1
        lastError = error
        notBefore = now + .seconds(schedule.ceiling(afterFailures: failures) * (0.5 + random / 2))
    }

    mutating func connected() {
        failures = 0
        notBefore = nil
        lastError = nil
    }
}
