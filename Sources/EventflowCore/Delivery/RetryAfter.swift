/// A peer's `Retry-After` (delta-seconds form), read without trusting it.
///
/// A target or callback receiver may answer `Retry-After: 1e16` or `inf`; taken at its word
/// that would pause delivery for ever or overflow the clock arithmetic that schedules the
/// retry. Values above the limit are clamped to it, and say so, so that the caller can count
/// the peer's absurd answers.
public struct RetryAfter: Sendable, Equatable {
    /// The default longest pause a peer can ask for: one hour.
    public static let defaultLimitSeconds: Double = 3600

    /// Seconds to wait, from 0 up to the limit.
    public var seconds: Double
    /// Whether the peer asked for more than the limit (or for infinity).
    public var wasClamped: Bool

    public init(seconds: Double, wasClamped: Bool = false) {
        self.seconds = seconds
        self.wasClamped = wasClamped
    }

    /// Reads the header's value; nil when it is absent, not a number (an HTTP date, say),
    /// negative or NaN.
    public static func parse(_ header: String?, limitSeconds: Double = defaultLimitSeconds) -> RetryAfter? {
        guard let header, let seconds = Double(header.trimmingWhitespace), seconds >= 0 else { return nil }
        return seconds > limitSeconds ? RetryAfter(seconds: limitSeconds, wasClamped: true) : RetryAfter(seconds: seconds)
    }
}
