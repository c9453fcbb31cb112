/// The rules of the account callback dispatcher, as pure state: when to look for due
/// callbacks, which of them to fire, how to retry them, when to record the settled ones in
/// one commit, and when to wake until then.
///
/// Each input (callbacks read as due, an answer, a deadline, the `accounts` step's news of a
/// callback scheduled) returns the actions it makes possible; a thin executor performs
/// them. The machine looks at the table when a callback it knows of becomes due (the
/// soonest pending one, a retry), when an answer frees room for callbacks it had to leave
/// due, when the step schedules one sooner, and at least every ``Configuration/lookEveryMs``
/// (for callbacks no one announced, such as those left by another process); never by
/// polling in between.
///
/// Bounds: at most ``Configuration/concurrency`` callbacks in flight, and at most
/// ``Configuration/maxRetrying`` waiting for a retry or in flight; a fresh callback that
/// could push the retries past their bound waits in the table.
public struct CallbackFiring: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Callback requests in flight at most.
        public var concurrency: Int
        /// Callbacks waiting for a retry (or in flight) tracked at most.
        public var maxRetrying: Int
        public var retry: RetrySchedule
        /// How long a settled callback waits for others to be recorded with it, in ms.
        public var recordDelayMs: Int64
        /// The longest the machine goes without looking at the table, in ms.
        public var lookEveryMs: Int64
        /// The shortest time between two looks, in ms: callbacks due close together (at
        /// peak, hundreds a second) are fired a little late in one look, not one look each.
        public var minLookIntervalMs: Int64

        public init(
            concurrency: Int = 64, maxRetrying: Int = 10_000, retry: RetrySchedule = RetrySchedule(), recordDelayMs: Int64 = 20, lookEveryMs: Int64 = 1_000,
            minLookIntervalMs: Int64 = 20
        ) {
            precondition(
                concurrency >= 1 && maxRetrying >= 1 && recordDelayMs >= 0 && lookEveryMs >= 1 && (0...lookEveryMs).contains(minLookIntervalMs),
                "invalid callback firing configuration")
            self.concurrency = concurrency
            self.maxRetrying = maxRetrying
            self.retry = retry
            self.recordDelayMs = recordDelayMs
            self.lookEveryMs = lookEveryMs
            self.minLookIntervalMs = minLookIntervalMs
        }
    }

    /// A callback whose outcome is final, to be recorded.
    public struct Settled: Sendable, Equatable {
        public var callback: AccountCallback
        /// ``CallbackState/fired`` or ``CallbackState/failed``.
        public var state: CallbackState

        public init(_ callback: AccountCallback, _ state: CallbackState) {
            self.callback = callback
            self.state = state
        }
    }

    /// What the executor does next.
    public enum Action: Sendable, Equatable {
        /// Read up to `limit` pending callbacks due now, soonest first, and when the next
        /// pending one after now is due; report with ``dueRead(_:nextDueMs:nowMs:)``.
        case readDue(limit: Int)
        /// Claim and send each of these (they count as in flight from now on); report each
        /// with ``completed(_:_:nowMs:random:)``, or ``skipped(_:nowMs:)`` when it could not
        /// be claimed (cancelled) or is no longer pending (replaced).
        case send([AccountCallback])
        /// This callback will be retried from the table: give up its claim.
        case release(AccountCallback)
        /// Record these in one commit.
        case record([Settled])
        /// The dispatcher is done: nothing is in flight and everything settled was handed out to record.
        case finish
    }

    private struct Retry: Sendable {
        var failures: Int
        var notBeforeMs: Int64
    }

    /// After a failed read of the table, how long until the next, in ms.
    public static var readRetryPauseMs: Int64 { 200 }

    public let configuration: Configuration
    private var inFlight: Set<AccountCallback> = []
    private var retries: [AccountCallback: Retry] = [:]
    private var settled: [Settled] = []
    private var recordAtMs: Int64?
    /// When to look at the table next (not before ``lookAllowedMs``).
    private var nextLookMs: Int64 = .min
    /// The last look plus ``Configuration/minLookIntervalMs``.
    private var lookAllowedMs: Int64 = .min
    /// The last look found due callbacks it could not send for lack of room: an answer that frees some looks again.
    private var leftBehind = false
    private var reading = false
    private var holdsLease = false
    private var stopping = false
    public private(set) var isFinished = false

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Callbacks waiting for a retry.
    public var retrying: Int { retries.count }

    /// When to wake (wall-clock ms) if nothing else happens first; nil: only an answer or news wakes it.
    public var wakeAtMs: Int64? {
        guard !isFinished else { return nil }
        var deadlines = [recordAtMs]
        if !stopping, !reading, inFlight.count < configuration.concurrency { deadlines.append(max(nextLookMs, lookAllowedMs)) }
        return deadlines.compactMap { $0 }.min()
    }

    // MARK: - Inputs

    /// A deadline asked for in ``wakeAtMs`` has come (or the dispatcher starts);
    /// `holdsLease`: whether this process fires callbacks (on a shared log, the one
    /// holding the `accounts` lease).
    public mutating func deadlinePassed(nowMs: Int64, holdsLease: Bool) -> [Action] {
        self.holdsLease = holdsLease
        return decide(nowMs: nowMs)
    }

    /// The `accounts` step committed callbacks, the soonest due at `dueAtMs`.
    public mutating func scheduled(dueAtMs: Int64, nowMs: Int64) -> [Action] {
        nextLookMs = min(nextLookMs, dueAtMs)
        return decide(nowMs: nowMs)
    }

    /// The answer to ``Action/readDue(limit:)``: the pending callbacks due now (nil when
    /// the table could not be read) and when the next one after now is due (nil for none).
    public mutating func dueRead(_ due: [AccountCallback]?, limit: Int, nextDueMs: Int64?, nowMs: Int64) -> [Action] {
        reading = false
        guard let due else {
            nextLookMs = nowMs + Self.readRetryPauseMs
            return decide(nowMs: nowMs)
        }
        if due.count < limit {
            // Every due callback is in hand: a retry not among them is no longer pending
            // (a newer version replaced it), so it is dropped.
            let pending = Set(due)
            retries = retries.filter { pending.contains($0.key) || inFlight.contains($0.key) }
        }
        guard !stopping else { return decide(nowMs: nowMs) }
        leftBehind = due.count >= limit
        nextLookMs = min(nextDueMs ?? .max, nowMs + configuration.lookEveryMs)
        var chosen: [AccountCallback] = []
        for callback in due where !inFlight.contains(callback) {
            if let retry = retries[callback], retry.notBeforeMs > nowMs {
                nextLookMs = min(nextLookMs, retry.notBeforeMs)
                continue
            }
            guard inFlight.count + chosen.count < configuration.concurrency,
                retries[callback] != nil || retries.count + inFlight.count + chosen.count < configuration.maxRetrying
            else {
                // No room now, or a fresh one could fail and grow the retries past their bound: it waits.
                leftBehind = true
                continue
            }
            chosen.append(callback)
        }
        inFlight.formUnion(chosen)
        return (chosen.isEmpty ? [] : [.send(chosen)]) + decide(nowMs: nowMs)
    }

    /// A callback handed out to send was not sent: cancelled before it could be claimed, or replaced.
    public mutating func skipped(_ callback: AccountCallback, nowMs: Int64) -> [Action] {
        inFlight.remove(callback)
        return decide(nowMs: nowMs)
    }

    /// How the request of `callback` ended; `random` in [0, 1) jitters the backoff.
    public mutating func completed(_ callback: AccountCallback, _ outcome: DeliveryOutcome, nowMs: Int64, random: Double) -> [Action] {
        inFlight.remove(callback)
        if leftBehind { nextLookMs = nowMs }
        var actions: [Action] = []
        switch outcome {
        case .delivered:
            retries[callback] = nil
            settle(callback, .fired, nowMs: nowMs)
        case .rejected, .unsendable:
            retries[callback] = nil
            settle(callback, .failed, nowMs: nowMs)
        case .throttled(let retryAfter), .failed(_, let retryAfter):
            actions.append(.release(callback))
            retry(callback, retryAfter: retryAfter, nowMs: nowMs, random: random)
        case .timedOut, .connectionFailed:
            actions.append(.release(callback))
            retry(callback, retryAfter: nil, nowMs: nowMs, random: random)
        }
        return actions + decide(nowMs: nowMs)
    }

    /// Graceful shutdown: nothing new is sent; the machine finishes once the callbacks in
    /// flight have answered, recording what settled.
    public mutating func stop(nowMs: Int64) -> [Action] {
        stopping = true
        return decide(nowMs: nowMs)
    }

    // MARK: - Decisions

    private mutating func settle(_ callback: AccountCallback, _ state: CallbackState, nowMs: Int64) {
        settled.append(Settled(callback, state))
        if recordAtMs == nil { recordAtMs = nowMs + configuration.recordDelayMs }
    }

    private mutating func retry(_ callback: AccountCallback, retryAfter: Double?, nowMs: Int64, random: Double) {
        let failures = (retries[callback]?.failures ?? 0) + 1
        let delay = configuration.retry.delay(afterFailures: failures, random: random, retryAfter: retryAfter)
        let notBeforeMs = nowMs + Duration.checkedSeconds(delay).milliseconds
        retries[callback] = Retry(failures: failures, notBeforeMs: notBeforeMs)
        nextLookMs = min(nextLookMs, notBeforeMs)
    }

    private mutating func decide(nowMs: Int64) -> [Action] {
        guard !isFinished else { return [] }
        var actions: [Action] = []
        var look = !stopping && !reading && inFlight.count < configuration.concurrency && max(nextLookMs, lookAllowedMs) <= nowMs
        if look, !holdsLease {
            // Standing by: look again (and check the lease) later.
            nextLookMs = nowMs + configuration.lookEveryMs
            look = false
        }
        // What settled is recorded before a look: the table must not list a fired callback as still pending.
        if !settled.isEmpty, stopping || look || (recordAtMs ?? nowMs) <= nowMs {
            actions.append(.record(settled))
            settled.removeAll()
            recordAtMs = nil
        }
        if look {
            reading = true
            lookAllowedMs = nowMs + configuration.minLookIntervalMs
            actions.append(.readDue(limit: configuration.concurrency + inFlight.count + retries.count))
        }
        if stopping, inFlight.isEmpty, !reading {
            isFinished = true
            actions.append(.finish)
        }
        return actions
    }
}
