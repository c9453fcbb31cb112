/// The rules of one delivery session (one partition of a stream, while its process holds
/// the partition's lease), as pure state: what to read, send, commit and tell the other
/// partitions next, and what to wait for until then.
///
/// Each input (events read, an answer, a deadline, a message from the processor) returns
/// the actions it makes possible; a thin executor performs them and feeds their results
/// back. Besides the answers it waits for, the machine asks to be woken only by the
/// event it needs next (``wake``): the next event of the stream, or the earliest time
/// something becomes due (a retry, the rate limit, the ordering window's end).
///
/// Sending is decided by a ``DeliveryScheduler`` (concurrency, batching, retries, the
/// ordering window) and paced by an ``AdaptiveRateLimiter`` (this partition's share of the
/// target's limit). Reading keeps at most ``Limits/events`` events and ``Limits/bytes`` of
/// bodies in hand. The cursor is committed as soon as the scheduler's committable offset
/// moves. Once stopped (drained, or its lease lost) the session sends nothing new, lets its
/// requests in flight finish, withdraws its hold and finishes.
public struct DeliverySessionMachine<Item: Sendable>: Sendable {
    public typealias Scheduler = DeliveryScheduler<Item>

    /// What a session may hold in hand, read from the log and not yet done.
    public struct Limits: Sendable, Equatable {
        /// Events at most.
        public var events: Int
        /// Bytes of event bodies at most; a single larger event is still read, alone.
        public var bytes: Int
        /// Events per read at most.
        public var perRead: Int

        public init(events: Int, bytes: Int, perRead: Int = 1_000) {
            precondition(events >= 1 && bytes >= 1 && perRead >= 1, "a session must be able to hold an event")
            self.events = events
            self.bytes = bytes
            self.perRead = perRead
        }
    }

    /// An event read from the log.
    public struct ReadEvent: Sendable {
        public var offset: Int64
        public var item: Item
        /// What it weighs while held (its body's bytes).
        public var bytes: Int

        public init(offset: Int64, item: Item, bytes: Int) {
            self.offset = offset
            self.item = item
            self.bytes = bytes
        }
    }

    /// What the executor does next.
    public enum Action: Sendable {
        /// Read up to `limit` events of this partition from `from` on, with at most
        /// `maxBytes` of bodies; report with ``read(_:now:)`` or ``readFailed(now:)``.
        case read(from: Int64, limit: Int, maxBytes: Int)
        /// Send these events in one request; report with ``completed(_:_:throttled:now:random:)``.
        case send([Scheduler.Dispatch])
        /// Commit the cursor at this offset; a later commit supersedes an earlier one not yet done.
        case commit(Int64)
        /// Tell the other partitions whether this one holds its later events back behind a
        /// stuck one; report with ``holdPublished(_:succeeded:now:)``.
        case publishHold(Bool)
        /// The session is over: nothing is in flight, and the last commit was asked for.
        case finish
    }

    /// Why a session stops.
    public enum StopReason: Sendable, Equatable {
        /// The processor handed the partition over, or is shutting down.
        case drained
        /// Another process took the partition's lease.
        case leaseLost
    }

    /// What the executor waits for, besides the answers of the requests in flight and
    /// the processor's messages: both nil means nothing but those.
    public struct Wake: Sendable, Equatable {
        /// Wake once the stream holds the event at this offset.
        public var eventAt: Int64?
        /// Wake at this time (seconds, on the session's clock).
        public var deadline: Double?

        public init(eventAt: Int64? = nil, deadline: Double? = nil) {
            self.eventAt = eventAt
            self.deadline = deadline
        }
    }

    /// After a failed read or hold publication, how long until the next try, in seconds.
    public static var retryPause: Double { 0.2 }
    /// After a read that came back short of the head (a reader's snapshot a moment behind
    /// the published head), how long until the next, in seconds.
    public static var snapshotLagPause: Double { 0.001 }

    public private(set) var scheduler: Scheduler
    public private(set) var stopReason: StopReason?
    private let partitions: Int
    private let limits: Limits
    private var limiter: AdaptiveRateLimiter?
    /// The stream's head as last learned: every offset below it exists.
    private var head: Int64 = 0
    /// The read asked for and not yet reported: its start, the end of the offsets it
    /// covers, and how many of them are this session's.
    private var reading: (from: Int64, windowEnd: Int64, expected: Int64)?
    private var readNotBefore: Double?
    /// A request the scheduler chose that waits for the rate limit.
    private var waitingForRate: [Scheduler.Dispatch]?
    private var rateAllowsAt: Double?
    private var retryDueAt: Double?
    private var holdFresh = false
    private var publishedHold = false
    private var publishingHold = false
    private var holdNotBefore: Double?
    private var committed: Int64
    private var finished = false

    /// A session starting at the committed `cursor`, owning `firstOffset` (its first offset
    /// at or after the cursor) and every `partitions`-th offset after it; `limiter` paces
    /// its requests (nil: as fast as the target answers).
    public init(
        configuration: Scheduler.Configuration, cursor: Int64, firstOffset: Int64, partitions: Int, limits: Limits, limiter: AdaptiveRateLimiter?
    ) {
        scheduler = Scheduler(configuration: configuration, cursor: cursor, firstOffset: firstOffset, stride: partitions)
        self.partitions = partitions
        self.limits = limits
        self.limiter = limiter
        committed = cursor
    }

    /// The rate the limiter allows now, in requests per second; 0 without a limiter.
    public var allowedRate: Double { limiter?.currentRate ?? 0 }

    /// Whether the session is over.
    public var isFinished: Bool { finished }

    /// What to wait for next.
    public var wake: Wake {
        guard !finished else { return Wake() }
        guard stopReason == nil else { return Wake() }
        var deadlines = [retryDueAt, rateAllowsAt, readNotBefore, holdNotBefore]
        if partitions > 1, !publishedHold, !publishingHold, holdNotBefore == nil { deadlines.append(scheduler.holdStartsAt) }
        var eventAt: Int64?
        if reading == nil, readNotBefore == nil, hasRoom, scheduler.readOffset >= head { eventAt = scheduler.readOffset }
        return Wake(eventAt: eventAt, deadline: deadlines.compactMap { $0 }.min())
    }

    // MARK: - Inputs

    /// The stream holds every offset below `head`.
    public mutating func headMoved(to head: Int64, now: Double) -> [Action] {
        self.head = max(self.head, head)
        return decide(now: now)
    }

    /// A deadline asked for in ``wake`` has come.
    public mutating func deadlinePassed(now: Double) -> [Action] {
        decide(now: now)
    }

    /// The events the last ``Action/read(from:limit:maxBytes:)`` returned, in offset order.
    public mutating func read(_ events: [ReadEvent], now: Double) -> [Action] {
        guard let read = reading else { return decide(now: now) }
        reading = nil
        for event in events { scheduler.add(offset: event.offset, item: event.item, bytes: event.bytes) }
        // Only a read that held every event of this session's below windowEnd moves past them.
        if events.count >= read.expected {
            scheduler.scanned(upTo: read.windowEnd)
        } else if events.isEmpty {
            readNotBefore = now + Self.snapshotLagPause
        }
        return decide(now: now)
    }

    /// The last read failed; it is tried again after ``retryPause``.
    public mutating func readFailed(now: Double) -> [Action] {
        reading = nil
        readNotBefore = now + Self.retryPause
        return decide(now: now)
    }

    /// How the request carrying `offsets` ended; `throttled` when the target answered 429
    /// (the limiter then slows down and pauses for its `Retry-After`); `random` in [0, 1)
    /// jitters the backoff.
    public mutating func completed(
        _ offsets: [Int64], _ completion: Scheduler.Completion, throttled: Bool, now: Double, random: Double
    ) -> [Action] {
        if throttled, case .retry(let retryAfter) = completion { limiter?.throttled(retryAfter: retryAfter, now: now) }
        scheduler.complete(offsets, completion, now: now, random: random)
        return decide(now: now)
    }

    /// The outcome of the last ``Action/publishHold(_:)``; a failed one is tried again after ``retryPause``.
    public mutating func holdPublished(_ holding: Bool, succeeded: Bool, now: Double) -> [Action] {
        publishingHold = false
        if succeeded {
            publishedHold = holding
        } else {
            holdNotBefore = now + Self.retryPause
        }
        return decide(now: now)
    }

    /// How many requests may be in flight from now on (this session's part of its process's limit).
    public mutating func setConcurrency(_ concurrency: Int, now: Double) -> [Action] {
        scheduler.setConcurrency(max(1, concurrency))
        return decide(now: now)
    }

    /// Whether another partition holds its later events back: then this one sends no
    /// event for the first time either, so the ordering window holds across partitions.
    public mutating func setHoldFresh(_ holdFresh: Bool, now: Double) -> [Action] {
        self.holdFresh = holdFresh
        return decide(now: now)
    }

    /// Stops sending: the session finishes once its requests in flight have.
    public mutating func stop(_ reason: StopReason, now: Double) -> [Action] {
        if stopReason == nil { stopReason = reason }
        if let waiting = waitingForRate {
            // Chosen but never sent: it goes back to be sent by the next holder.
            waitingForRate = nil
            rateAllowsAt = nil
            scheduler.complete(waiting.map(\.offset), .retry(retryAfter: nil), now: now, random: 0)
        }
        return decide(now: now)
    }

    // MARK: - Decisions

    private var hasRoom: Bool {
        scheduler.outstanding < limits.events && scheduler.outstandingBytes < limits.bytes
    }

    private mutating func decide(now: Double) -> [Action] {
        guard !finished else { return [] }
        var actions: [Action] = []
        if stopReason == nil {
            if let publish = holdChange(now: now) { actions.append(publish) }
            if let read = nextRead(now: now) { actions.append(read) }
            actions += sends(now: now)
        }
        if scheduler.committableOffset > committed {
            committed = scheduler.committableOffset
            actions.append(.commit(committed))
        }
        if stopReason != nil, scheduler.requestsInFlight == 0, reading == nil, !publishingHold {
            if publishedHold {
                publishedHold = false
                actions.append(.publishHold(false))
            }
            finished = true
            actions.append(.finish)
        }
        return actions
    }

    private mutating func holdChange(now: Double) -> Action? {
        guard partitions > 1, !publishingHold else { return nil }
        if let notBefore = holdNotBefore {
            guard notBefore <= now else { return nil }
            holdNotBefore = nil
        }
        let holding = scheduler.isHolding(now: now)
        guard holding != publishedHold else { return nil }
        publishingHold = true
        return .publishHold(holding)
    }

    private mutating func nextRead(now: Double) -> Action? {
        guard reading == nil else { return nil }
        if let notBefore = readNotBefore {
            guard notBefore <= now else { return nil }
            readNotBefore = nil
        }
        guard hasRoom, scheduler.readOffset < head else { return nil }
        let from = scheduler.readOffset
        let limit = min(limits.events - scheduler.outstanding, limits.perRead)
        // The read can hold at most `limit` events of the partition, all below windowEnd (offsets are dense).
        let windowEnd = min(head, from + Int64(limit) * Int64(partitions))
        let first = scheduler.nextOffset
        let expected = first < windowEnd ? (windowEnd - 1 - first) / Int64(partitions) + 1 : 0
        reading = (from, windowEnd, expected)
        return .read(from: from, limit: limit, maxBytes: limits.bytes - scheduler.outstandingBytes)
    }

    private mutating func sends(now: Double) -> [Action] {
        var actions: [Action] = []
        retryDueAt = nil
        rateAllowsAt = nil
        while true {
            let dispatches: [Scheduler.Dispatch]
            if let waiting = waitingForRate {
                dispatches = waiting
            } else {
                switch scheduler.next(now: now, holdFresh: holdFresh) {
                case .send(let chosen): dispatches = chosen
                case .waitUntil(let time):
                    retryDueAt = time
                    return actions
                case .idle: return actions
                }
            }
            if case .wait(let seconds) = limiter?.acquire(now: now) {
                waitingForRate = dispatches
                rateAllowsAt = now + seconds
                return actions
            }
            waitingForRate = nil
            actions.append(.send(dispatches))
        }
    }
}
