import EventflowCore

/// Settings of the `unique-users` processor.
public struct UniqueUsersConfiguration: Sendable, Equatable {
    /// Window sizes, seconds (default one minute).
    public var windowSeconds: [Int64]
    /// How far behind the highest event time a frame may be and still count.
    public var latenessSeconds: Double
    /// Where emitted results are POSTed as JSON, when set.
    public var resultsURL: String?

    public init(windowSeconds: [Int64] = [60], latenessSeconds: Double = 5, resultsURL: String? = nil) {
        self.windowSeconds = windowSeconds
        self.latenessSeconds = latenessSeconds
        self.resultsURL = resultsURL
    }

    /// A window size as written in flags and queries: `1m`, `1h`, `1d`, `30s`; nil unless
    /// it is a whole number of seconds from 1s up to ``DurationText/maxSeconds``.
    public static func windowSeconds(_ text: String) -> Int64? {
        guard let seconds = DurationText.seconds(text), seconds >= 1 else { return nil }
        return Int64(exactly: seconds)
    }

    /// The shortest text for a window size: `1m` rather than `60s`.
    public static func windowText(_ seconds: Int64) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
