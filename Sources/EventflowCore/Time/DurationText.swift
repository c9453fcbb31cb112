/// Parses durations as flags, config files, queries and load profiles write them: `500ms`,
/// `10s`, `2m`, `1h`, `1d`, or a bare number of seconds.
///
/// Every duration comes from outside, so nothing here traps: a text that is not a number,
/// not finite, negative or longer than ``maxSeconds`` is nil, and callers answer with an
/// error naming the flag, key or parameter.
public enum DurationText {
    /// The longest duration a text may name: 100 years. Longer ones are typing mistakes or
    /// attacks, and would overflow the integer milliseconds and nanoseconds they become.
    public static let maxSeconds: Double = 100 * 365 * 86_400

    /// Seconds named by `text`, from 0 up to ``maxSeconds``; nil otherwise.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = String(text.trimmingWhitespace)
        var number = Substring(trimmed)
        var factor = 1.0
        for (suffix, unit) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0)] where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            factor = unit
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let seconds = value * factor
        return seconds <= maxSeconds ? seconds : nil
    }

    /// The duration named by `text`, to the millisecond; nil as for ``seconds(_:)``.
    public static func duration(_ text: String) -> Duration? {
        seconds(text).map(Duration.checkedSeconds)
    }
}
