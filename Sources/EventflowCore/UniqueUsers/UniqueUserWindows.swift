/// Exact distinct users per tumbling window of event time, with allowed lateness.
///
/// A window `[start, end)` closes when the highest event time seen reaches its end: its
/// result is emitted. Frames that arrive later but while the watermark (highest event
/// time minus the lateness) is still before its end are counted, and an update is
/// emitted when they change the user count. Once the watermark passes its end the
/// window is final: its result is emitted as final, its set of users is freed, and any
/// later frame of it is counted as `late_dropped`, never silently ignored. Memory is
/// bounded by the windows not yet final, however old the data.
public struct UniqueUserWindows: Sendable {
    public let windowSeconds: Int64
    public let latenessMs: Int64
    /// The highest event time seen, unix milliseconds.
    public private(set) var maxEventTimeMs: Int64?

    private var windows: [Int64: OpenWindow] = [:]
    /// The earliest event time at which some window closes or becomes final.
    private var nextBoundaryMs = Int64.max
    private var changed: Set<Int64> = []
    private var pendingNewUsers: [Int64: [UserKey]] = [:]
    private var finalizedResults: [Int64: WindowResult] = [:]
    private var lateInFinal: [Int64: Int64] = [:]
    private var lateDropped: Int64 = 0

    struct OpenWindow: Sendable {
        var users: Set<UserKey> = []
        var frames: Int64 = 0
        var lateDropped: Int64 = 0
        var closed = false
        /// The user count last emitted, nil before the first emission.
        var emittedUsers: Int64?

        /// Counts a frame; true when its user is new to the window.
        mutating func count(_ user: UserKey) -> Bool {
            frames += 1
            return users.insert(user).inserted
        }
    }

    public init(windowSeconds: Int64, latenessSeconds: Double) {
        precondition(windowSeconds > 0 && latenessSeconds >= 0, "windows need a positive size and a non-negative lateness")
        self.windowSeconds = windowSeconds
        self.latenessMs = Int64((latenessSeconds * 1000).rounded())
    }

    /// Windows not yet final.
    public var openWindowCount: Int { windows.count }
    /// Users held in memory across the windows not yet final.
    public var usersInMemory: Int { windows.values.reduce(0) { $0 + $1.users.count } }

    /// Resumes from committed state: the highest event time and the windows not yet final
    /// with their users.
    public mutating func restore(maxEventTimeMs: Int64?, windows restored: [(result: WindowResult, users: [UserKey])]) {
        self.maxEventTimeMs = maxEventTimeMs
        for (result, users) in restored {
            var window = OpenWindow(users: Set(users), frames: result.frames, lateDropped: result.lateDropped, closed: result.closed)
            if result.closed { window.emittedUsers = Int64(window.users.count) }
            windows[result.start] = window
        }
        recomputeBoundary()
        advance()
    }

    /// Counts one frame of `user` at `eventTimeMs`.
    public mutating func add(_ user: UserKey, eventTimeMs: Int64) {
        let start = eventTimeMs / 1000 / windowSeconds * windowSeconds
        let endMs = (start + windowSeconds) * 1000
        if windows[start] == nil, let maxEventTimeMs, endMs <= maxEventTimeMs - latenessMs {
            lateDropped += 1
            if var finalized = finalizedResults[start] {
                finalized.lateDropped += 1
                finalizedResults[start] = finalized
                changed.insert(start)
            } else {
                lateInFinal[start, default: 0] += 1
            }
            return
        }
        if windows[start] == nil {
            let closed = endMs <= maxEventTimeMs ?? Int64.min
            windows[start] = OpenWindow(closed: closed)
            nextBoundaryMs = min(nextBoundaryMs, closed ? endMs + latenessMs : endMs)
        }
        // Mutated in place: a copy of the window would copy its whole set of users.
        if windows[start]!.count(user) {
            pendingNewUsers[start, default: []].append(user)
        }
        changed.insert(start)
        if eventTimeMs > maxEventTimeMs ?? Int64.min {
            maxEventTimeMs = eventTimeMs
            if eventTimeMs >= nextBoundaryMs { advance() }
        }
    }

    /// Closes and finalizes the windows the highest event time has passed.
    private mutating func advance() {
        guard let maxEventTimeMs else { return }
        let watermarkMs = maxEventTimeMs - latenessMs
        for (start, window) in windows {
            let endMs = (start + windowSeconds) * 1000
            if endMs <= watermarkMs {
                finalizedResults[start] = result(start, window, closed: true, final: true)
                windows[start] = nil
                changed.insert(start)
            } else if !window.closed, endMs <= maxEventTimeMs {
                windows[start]!.closed = true
                changed.insert(start)
            }
        }
        recomputeBoundary()
    }

    private mutating func recomputeBoundary() {
        nextBoundaryMs = windows.reduce(Int64.max) { boundary, entry in
            let endMs = (entry.key + windowSeconds) * 1000
            return min(boundary, entry.value.closed ? endMs + latenessMs : endMs)
        }
    }

    private func result(_ start: Int64, _ window: OpenWindow, closed: Bool, final: Bool) -> WindowResult {
        WindowResult(
            windowSeconds: windowSeconds, start: start, users: Int64(window.users.count), frames: window.frames,
            lateDropped: window.lateDropped, closed: closed, final: final)
    }

    /// Everything that changed since the last call.
    public mutating func drainChanges() -> WindowChanges {
        var changes = WindowChanges()
        for start in changed.sorted() {
            if let finalized = finalizedResults[start] {
                changes.results.append(finalized)
                changes.finalized.append(start)
                changes.emitted.append(finalized)
            } else if let window = windows[start] {
                let current = result(start, window, closed: window.closed, final: false)
                changes.results.append(current)
                if window.closed, window.emittedUsers != current.users {
                    changes.emitted.append(current)
                    windows[start]!.emittedUsers = current.users
                }
            }
        }
        changes.newUsers = pendingNewUsers.filter { windows[$0.key] != nil }
        changes.lateDroppedInFinalWindows = lateInFinal
        changes.lateDropped = lateDropped
        lateDropped = 0
        changed.removeAll(keepingCapacity: true)
        pendingNewUsers.removeAll(keepingCapacity: true)
        finalizedResults.removeAll(keepingCapacity: true)
        lateInFinal.removeAll(keepingCapacity: true)
        return changes
    }
}
