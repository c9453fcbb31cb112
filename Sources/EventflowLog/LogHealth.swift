/// Whether the log takes writes now.
public struct LogHealth: Sendable, Equatable {
    /// False after a failed commit, until a commit succeeds again.
    public var writable: Bool
    /// Pending work relative to the pending limit, 0 to 1.
    public var saturation: Double
    /// The last storage error, when not writable.
    public var lastError: String?

    public var isReady: Bool { writable && saturation < 1 }
}

/// Timing of one group commit, for metrics.
public struct CommitStats: Sendable {
    public var durationSeconds: Double
    public var requests: Int
    public var events: Int
    public var succeeded: Bool
}
