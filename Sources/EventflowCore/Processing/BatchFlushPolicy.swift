/// When a processor commits what it has read: as soon as `maxEvents` are waiting, or
/// `maxDelay` seconds after the first of them was read, whichever comes first.
///
/// It also bounds what a processor holds unflushed: it reads no more than ``room``.
public struct BatchFlushPolicy: Sendable, Equatable {
    public var maxEvents: Int
    public var maxDelay: Double
    /// Events read and not yet committed.
    public private(set) var pending = 0
    private var firstPendingAt: Double?

    public init(maxEvents: Int, maxDelay: Double) {
        precondition(maxEvents > 0 && maxDelay >= 0, "a flush policy needs maxEvents > 0 and maxDelay >= 0")
        self.maxEvents = maxEvents
        self.maxDelay = maxDelay
    }

    /// How many more events may be read before a flush.
    public var room: Int { max(0, maxEvents - pending) }

    /// Records `count` events read at `now` (seconds on any monotonic clock).
    public mutating func read(_ count: Int, now: Double) {
        guard count > 0 else { return }
        if pending == 0 { firstPendingAt = now }
        pending += count
    }

    /// When the waiting events must be committed at the latest; nil when none wait.
    public var deadline: Double? { firstPendingAt.map { $0 + maxDelay } }

    public func shouldFlush(now: Double) -> Bool {
        guard pending > 0 else { return false }
        return pending >= maxEvents || now >= (deadline ?? now)
    }

    /// Records that everything read was committed.
    public mutating func flushed() {
        pending = 0
        firstPendingAt = nil
    }
}
