/// The count of one tumbling window, as stored and served.
public struct WindowResult: Sendable, Equatable {
    /// The window size, seconds.
    public var windowSeconds: Int64
    /// Window start and end (exclusive), unix seconds.
    public var start: Int64
    public var end: Int64
    /// Distinct users among the window's counted frames.
    public var users: Int64
    /// Frames counted in the window.
    public var frames: Int64
    /// Frames of this window that came after it was final, and were not counted.
    public var lateDropped: Int64
    /// Whether the event time passed the window's end: its result has been emitted.
    public var closed: Bool
    /// Whether the watermark passed the window's end: no frame changes `users` any more.
    public var final: Bool

    public init(windowSeconds: Int64, start: Int64, users: Int64 = 0, frames: Int64 = 0, lateDropped: Int64 = 0, closed: Bool = false, final: Bool = false) {
        self.windowSeconds = windowSeconds
        self.start = start
        self.end = start + windowSeconds
        self.users = users
        self.frames = frames
        self.lateDropped = lateDropped
        self.closed = closed
        self.final = final
    }
}

/// What changed in a ``UniqueUserWindows`` since the last drain: what to persist and what to publish.
public struct WindowChanges: Sendable, Equatable {
    /// The current result of every window that changed, in start order.
    public var results: [WindowResult] = []
    /// Users each window saw for the first time, by window start.
    public var newUsers: [Int64: [UserKey]] = [:]
    /// Windows that became final and whose users were dropped from memory.
    public var finalized: [Int64] = []
    /// Frames dropped as too late for windows final before this drain, by window start.
    public var lateDroppedInFinalWindows: [Int64: Int64] = [:]
    /// Results to publish: a window's first result when it closes, an update when its
    /// user count changes after that, and its final result.
    public var emitted: [WindowResult] = []
    /// Frames dropped as too late since the last drain, in all windows.
    public var lateDropped: Int64 = 0

    public var isEmpty: Bool { results.isEmpty && lateDroppedInFinalWindows.isEmpty }
}
