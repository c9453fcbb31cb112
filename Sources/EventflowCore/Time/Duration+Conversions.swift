extension Duration {
    /// The duration in seconds, as a Double (for rates, metrics and clocks kept in seconds).
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole milliseconds, saturating at the bounds of `Int64` instead of trapping.
    public var milliseconds: Int64 { whole(unitsPerSecond: 1000) }

    /// Whole nanoseconds, saturating at the bounds of `Int64` (about 292 years) instead of trapping.
    public var nanoseconds: Int64 { whole(unitsPerSecond: 1_000_000_000) }

    /// Whole units of `1 / unitsPerSecond` seconds (a divisor of 10^18), saturating.
    private func whole(unitsPerSecond: Int64) -> Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: unitsPerSecond)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflowAdding) = whole.addingReportingOverflow(attoseconds / (1_000_000_000_000_000_000 / unitsPerSecond))
        return overflowAdding ? (whole < 0 ? .min : .max) : sum
    }

    /// `seconds` as a duration, to the millisecond, for values from outside (a peer's
    /// `Retry-After`, a computed backoff): NaN and negative values are zero, and values
    /// beyond ``DurationText/maxSeconds`` are clamped to it, where `Duration.seconds(_:)`
    /// would trap.
    public static func checkedSeconds(_ seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64((min(seconds, DurationText.maxSeconds) * 1000).rounded()))
    }
}
