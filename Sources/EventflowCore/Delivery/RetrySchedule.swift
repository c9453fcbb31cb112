/// Capped exponential backoff with full jitter: before attempt n+1 wait a uniformly
/// random time in [0, min(max, initial × multiplier^n)], or the server's `Retry-After`
/// when that is longer.
public struct RetrySchedule: Sendable, Equatable {
    public var initial: Double
    public var maximum: Double
    public var multiplier: Double
    /// The longest pause a peer's `Retry-After` may impose; longer ones are clamped to it.
    public var maxRetryAfter: Double

    public init(initial: Double = 0.1, maximum: Double = 10, multiplier: Double = 2, maxRetryAfter: Double = RetryAfter.defaultLimitSeconds) {
        precondition(initial > 0 && maximum >= initial && multiplier >= 1, "backoff needs 0 < initial <= maximum and multiplier >= 1")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.maxRetryAfter = maxRetryAfter
    }

    /// The upper bound of the wait after `failures` failed attempts (1 for the first failure).
    public func ceiling(afterFailures failures: Int) -> Double {
        var ceiling = initial
        for _ in 1..<max(1, failures) {
            ceiling *= multiplier
            if ceiling >= maximum { return maximum }
        }
        return min(ceiling, maximum)
    }

    /// The wait after `failures` failed attempts; `random` is uniform in [0, 1).
    public func delay(afterFailures failures: Int, random: Double, retryAfter: Double? = nil) -> Double {
        let jittered = random * ceiling(afterFailures: failures)
        return max(jittered, min(retryAfter ?? 0, maxRetryAfter))
    }
}
