/// Decides which events the delivery processor sends next, and which offset it may
/// commit: concurrency, batching, retry times and the ordering window, as pure state.
///
/// Events enter in offset order. Fresh events go out in order, several requests at a
/// time; failed ones come back after their backoff. The ordering rule: once the oldest
/// undelivered event (the head) has been pending for the ordering window since its
/// first attempt, nothing after it is sent until it is delivered, so a stuck event is
/// not overtaken by more than what was sent during its first window. Only events
/// delivered or dead-lettered count as done; the committable offset is the first event
/// not done, so a crash resends at most what was in flight or waiting to retry.
///
/// A scheduler may own every `stride`-th offset of the stream (one partition of it);
/// its committable offset is then still a stream offset: every event of its own below
/// it is done.
public struct DeliveryScheduler<Item: Sendable>: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Requests in flight at once.
        public var concurrency: Int
        /// Events per request.
        public var batchSize: Int
        /// Seconds the head may stay undelivered before later events are held back.
        public var orderingWindow: Double
        public var retry: RetrySchedule

        public init(concurrency: Int = 16, batchSize: Int = 1, orderingWindow: Double = 60, retry: RetrySchedule = RetrySchedule()) {
            precondition(concurrency >= 1 && batchSize >= 1 && orderingWindow > 0, "invalid delivery configuration")
            self.concurrency = concurrency
            self.batchSize = batchSize
            self.orderingWindow = orderingWindow
            self.retry = retry
        }
    }

    /// An event handed to the processor to send.
    public struct Dispatch: Sendable {
        public var offset: Int64
        public var item: Item
        /// 1 for the first attempt.
        public var attempt: Int
    }

    /// What the processor should do next.
    public enum Action: Sendable {
        /// Send these events in one request.
        case send([Dispatch])
        /// Nothing can go before this time (a retry is due then).
        case waitUntil(Double)
        /// Nothing to send until a request completes or more events are added.
        case idle
    }

    /// How a request ended, for every event in it.
    public enum Completion: Sendable, Equatable {
        case delivered
        /// A permanent rejection; the processor has recorded the events as dead letters.
        case deadLettered
        case retry(retryAfter: Double?)
        /// A permanent rejection of a batch: resend its events one by one to find the culprit.
        case isolate
    }

    private struct Entry: Sendable {
        /// The event while it is not done; dropped once it is, so a stuck head keeps only
        /// the events still to send in memory, not every one delivered after it.
        var item: Item?
        /// What the item weighs (its body's bytes), counted in `outstandingBytes` while it is held.
        var bytes: Int
        var failures = 0
        var firstAttemptAt: Double?
        var retryAt: Double?
        var inFlight = false
        var done = false
        var isolated = false
    }

    public private(set) var configuration: Configuration
    private var entries: [Entry] = []
    /// Offset of `entries[0]`.
    private var baseOffset: Int64
    /// Offsets between two consecutive entries: 1, or the number of partitions.
    private let stride: Int64
    /// Every event of this scheduler's before this offset has been added.
    private var scannedTo: Int64
    /// Index of the first entry that is not done.
    private var head = 0
    /// Index of the first entry never sent.
    private var nextFresh = 0
    /// Indices of entries waiting for a retry.
    private var retrying: Set<Int> = []
    public private(set) var requestsInFlight = 0

    /// Starts at `offset`, the processor's committed cursor, owning every offset.
    public init(configuration: Configuration, startingAt offset: Int64) {
        self.init(configuration: configuration, cursor: offset, firstOffset: offset, stride: 1)
    }

    /// Starts at `cursor`, owning `firstOffset` (the first of its own at or after the
    /// cursor) and every `stride`-th offset after it.
    public init(configuration: Configuration, cursor: Int64, firstOffset: Int64, stride: Int) {
        precondition(stride >= 1 && firstOffset >= cursor && firstOffset - cursor < Int64(stride), "the first offset must be the next one owned")
        self.configuration = configuration
        self.baseOffset = firstOffset
        self.stride = Int64(stride)
        self.scannedTo = cursor
    }

    /// The offset of the next event this scheduler owns and has not been given.
    public var nextOffset: Int64 { baseOffset + stride * Int64(entries.count) }
    /// Every event of this scheduler's before this offset is delivered or dead-lettered: safe to commit.
    public var committableOffset: Int64 { head < entries.count ? baseOffset + stride * Int64(head) : scannedTo }
    /// Where reading the stream goes on: every event of this scheduler's before it has been added.
    public var readOffset: Int64 { scannedTo }
    /// Events added from the head on (the oldest not done) to the newest.
    public var outstanding: Int { entries.count - head }
    /// Bytes of the events added and not yet done: what the scheduler holds in memory.
    public private(set) var outstandingBytes = 0

    /// Adds the next event this scheduler owns; `bytes` is what it weighs while held.
    public mutating func add(offset: Int64, item: Item, bytes: Int = 0) {
        precondition(offset == nextOffset, "events must be added in offset order without gaps")
        entries.append(Entry(item: item, bytes: bytes))
        outstandingBytes += bytes
        scannedTo = offset + 1
    }

    /// Changes how many requests may be in flight from now on; requests already out finish.
    public mutating func setConcurrency(_ concurrency: Int) {
        precondition(concurrency >= 1, "concurrency must be at least 1")
        configuration.concurrency = concurrency
    }

    /// Records that the stream was read up to `offset` and held no more events of this
    /// scheduler's before it (a read of one partition that came back short).
    public mutating func scanned(upTo offset: Int64) {
        precondition(offset <= nextOffset, "events before \(offset) were not added")
        scannedTo = max(scannedTo, offset)
    }

    /// Seconds the head has been undelivered since its first attempt, 0 when there is no such head.
    public func headPendingSeconds(now: Double) -> Double {
        guard head < entries.count, let first = entries[head].firstAttemptAt else { return 0 }
        return max(0, now - first)
    }

    /// Seconds later events have been held back behind the head (0 when not holding).
    public func headBlockedSeconds(now: Double) -> Double {
        max(0, headPendingSeconds(now: now) - configuration.orderingWindow)
    }

    /// When the head (already sent once) will have been pending for the ordering window;
    /// nil while there is no such head.
    public var holdStartsAt: Double? {
        guard head < entries.count, let first = entries[head].firstAttemptAt else { return nil }
        return first + configuration.orderingWindow
    }

    /// Whether this scheduler's own head has been pending for the ordering window: it holds
    /// its later events back (and, on a partitioned stream, asks the other partitions to).
    public func isHolding(now: Double) -> Bool {
        headPendingSeconds(now: now) >= configuration.orderingWindow
    }

    /// The next thing to do at time `now`. With `holdFresh` (another partition's event is
    /// stuck past the window) no event is sent for the first time; retries still go.
    public mutating func next(now: Double, holdFresh: Bool = false) -> Action {
        guard requestsInFlight < configuration.concurrency else { return .idle }
        let holding = isHolding(now: now)
        var earliestRetry: Double?
        var due: [Int] = []
        for index in retrying.sorted() {
            if holding && index != head { continue }
            let retryAt = entries[index].retryAt ?? now
            if retryAt <= now {
                due.append(index)
            } else {
                earliestRetry = min(earliestRetry ?? retryAt, retryAt)
            }
        }
        if let first = due.first {
            let batch = entries[first].isolated ? [first] : Array(due.prefix { !entries[$0].isolated }.prefix(configuration.batchSize))
            for index in batch { retrying.remove(index) }
            return .send(dispatch(batch, now: now))
        }
        if !holding, !holdFresh, nextFresh < entries.count {
            let end = min(entries.count, nextFresh + configuration.batchSize)
            let batch = Array(nextFresh..<end)
            nextFresh = end
            return .send(dispatch(batch, now: now))
        }
        return earliestRetry.map { .waitUntil($0) } ?? .idle
    }

    /// Records how the request carrying `offsets` ended; `random` in [0, 1) jitters the backoff.
    public mutating func complete(_ offsets: [Int64], _ completion: Completion, now: Double, random: Double) {
        requestsInFlight -= 1
        for offset in offsets {
            let index = Int((offset - baseOffset) / stride)
            entries[index].inFlight = false
            switch completion {
            case .delivered, .deadLettered:
                guard !entries[index].done else { continue }
                entries[index].done = true
                entries[index].item = nil
                outstandingBytes -= entries[index].bytes
            case .retry(let retryAfter):
                entries[index].failures += 1
                let delay = configuration.retry.delay(afterFailures: entries[index].failures, random: random, retryAfter: retryAfter)
                entries[index].retryAt = now + delay
                retrying.insert(index)
            case .isolate:
                entries[index].isolated = true
                entries[index].retryAt = now
                retrying.insert(index)
            }
        }
        advanceHead()
    }

    private mutating func dispatch(_ batch: [Int], now: Double) -> [Dispatch] {
        requestsInFlight += 1
        return batch.map { index in
            entries[index].inFlight = true
            if entries[index].firstAttemptAt == nil { entries[index].firstAttemptAt = now }
            guard let item = entries[index].item else { preconditionFailure("a done event was chosen to be sent") }
            return Dispatch(offset: baseOffset + stride * Int64(index), item: item, attempt: entries[index].failures + 1)
        }
    }

    private mutating func advanceHead() {
        while head < entries.count, entries[head].done { head += 1 }
        // Drop finished entries once they make up most of the buffer, keeping indices small.
        guard head > 4096, head * 2 > entries.count else { return }
        entries.removeFirst(head)
        baseOffset += stride * Int64(head)
        nextFresh -= head
        retrying = Set(retrying.map { $0 - head })
        head = 0
    }
}
