/// When a processor commits what it has read: as soon as `maxEvents` or `maxBytes` of
/// bodies are waiting, or `maxDelay` seconds after the first of them was read, whichever
/// comes first.
///
/// It also bounds what a processor holds unflushed, in events and in bytes: it reads no
/// more than ``room`` events and ``byteRoom`` bytes (a single larger event still comes, alone).
public struct BatchFlushPolicy: Sendable, Equatable {
    public var maxEvents: Int
    public var maxDelay: Double
    public var maxBytes: Int
    /// Events read and not yet committed.
    public private(set) var pending = 0
    /// Bytes of the bodies of the events read and not yet committed.
    public private(set) var pendingBytes = 0
    private var firstPendingAt: Double?

    public init(maxEvents: Int, maxDelay: Double, maxBytes: Int = 16 << 20) {
        precondition(maxEvents > 0 && maxDelay >= 0 && maxBytes > 0, "a flush policy needs maxEvents > 0, maxDelay >= 0 and maxBytes > 0")
        self.maxEvents = maxEvents
        self.maxDelay = maxDelay
        self.maxBytes = maxBytes
    }

    /// How many more events may be read before a flush.
    public var room: Int { pendingBytes >= maxBytes ? 0 : max(0, maxEvents - pending) }

    /// How many more bytes of bodies may be read before a flush.
    public var byteRoom: Int { max(0, maxBytes - pendingBytes) }

    /// Records `count` events of `bytes` bytes of bodies read at `now` (seconds on any monotonic clock).
    public mutating func read(_ count: Int, bytes: Int = 0, now: Double) {
        guard count > 0 else { return }
        if pending == 0 { firstPendingAt = now }
        pending += count
        pendingBytes += bytes
    }

    /// When the waiting events must be committed at the latest; nil when none wait.
    public var deadline: Double? { firstPendingAt.map { $0 + maxDelay } }

    public func shouldFlush(now: Double) -> Bool {
        guard pending > 0 else { return false }
        return pending >= maxEvents || pendingBytes >= maxBytes || now >= (deadline ?? now)
    }

    /// Records that everything read was committed.
    public mutating func flushed() {
        pending = 0
        pendingBytes = 0
        firstPendingAt = nil
    }
}
