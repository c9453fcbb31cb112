import EventflowCore
import Testing

@Suite struct DeliverySessionMachineTests {
    typealias Machine = DeliverySessionMachine<String>

    func machine(
        concurrency: Int = 2, window: Double = 60, cursor: Int64 = 0, partitions: Int = 1, index: Int64 = 0, events: Int = 100, bytes: Int = 1 << 20,
        limiter: AdaptiveRateLimiter? = nil
    ) -> Machine {
        let first = cursor + (index - cursor % Int64(partitions) + Int64(partitions)) % Int64(partitions)
        return Machine(
            configuration: .init(concurrency: concurrency, orderingWindow: window, retry: RetrySchedule(initial: 1, maximum: 8)),
            cursor: cursor, firstOffset: first, partitions: partitions, limits: .init(events: events, bytes: bytes), limiter: limiter)
    }

    func events(_ offsets: some Sequence<Int64>, bytes: Int = 10) -> [Machine.ReadEvent] {
        offsets.map { Machine.ReadEvent(offset: $0, item: "e\($0)", bytes: bytes) }
    }

    /// The offsets of the requests among `actions`, one array per request.
    func sent(_ actions: [Machine.Action]) -> [[Int64]] {
        actions.compactMap { if case .send(let dispatches) = $0 { dispatches.map(\.offset) } else { nil } }
    }

    func reads(_ actions: [Machine.Action]) -> [Int64] {
        actions.compactMap { if case .read(let from, _, _) = $0 { from } else { nil } }
    }

    func commits(_ actions: [Machine.Action]) -> [Int64] {
        actions.compactMap { if case .commit(let offset) = $0 { offset } else { nil } }
    }

    func holds(_ actions: [Machine.Action]) -> [Bool] {
        actions.compactMap { if case .publishHold(let holding) = $0 { holding } else { nil } }
    }

    func finishes(_ actions: [Machine.Action]) -> Bool {
        actions.contains { if case .finish = $0 { true } else { false } }
    }

    @Test func waitsForTheNextEventWhenCaughtUpAndReadsOnceItCommits() {
        var machine = machine(cursor: 5)
        #expect(machine.headMoved(to: 5, now: 0).isEmpty)
        #expect(machine.wake == .init(eventAt: 5, deadline: nil))
        #expect(reads(machine.headMoved(to: 7, now: 0)) == [5])
        // While a read is out, the machine waits for its answer, not for events.
        #expect(machine.wake == .init(eventAt: nil, deadline: nil))
        let actions = machine.read(events(5..<7), now: 0)
        #expect(sent(actions) == [[5], [6]])
        #expect(machine.wake == .init(eventAt: 7, deadline: nil))
    }

    @Test func commitsAsTheOldestEventsAreDoneAndOnlyThen() {
        var machine = machine(concurrency: 3)
        _ = machine.headMoved(to: 3, now: 0)
        _ = machine.read(events(0..<3), now: 0)
        #expect(commits(machine.completed([1], .delivered, throttled: false, now: 0.1, random: 0)).isEmpty)
        #expect(commits(machine.completed([0], .delivered, throttled: false, now: 0.1, random: 0)) == [2])
        #expect(commits(machine.completed([2], .deadLettered, throttled: false, now: 0.1, random: 0)) == [3])
    }

    /// Read-ahead stops at the session's limit in events, and in bytes; an answer that
    /// frees room reads on.
    @Test func readsNoFurtherThanItsLimits() {
        var machine = machine(concurrency: 1, events: 3)
        #expect(reads(machine.headMoved(to: 100, now: 0)) == [0])
        _ = machine.read(events(0..<3), now: 0)
        #expect(machine.wake == .init(eventAt: nil, deadline: nil))
        #expect(reads(machine.headMoved(to: 200, now: 0)).isEmpty)
        #expect(reads(machine.completed([0], .delivered, throttled: false, now: 0.1, random: 0)) == [3])

        var byBytes = self.machine(concurrency: 1, bytes: 25)
        _ = byBytes.headMoved(to: 100, now: 0)
        _ = byBytes.read(events(0..<3, bytes: 10), now: 0)
        #expect(reads(byBytes.headMoved(to: 200, now: 0)).isEmpty)
    }

    /// A read that comes back empty short of the head (a reader's snapshot behind the
    /// published head) is tried again a moment later; a failed one after a pause.
    @Test func readsAgainAfterAShortReadOrAFailure() {
        var machine = machine()
        _ = machine.headMoved(to: 10, now: 0)
        #expect(reads(machine.read([], now: 1)).isEmpty)
        #expect(machine.wake.deadline == 1 + Machine.snapshotLagPause)
        #expect(reads(machine.deadlinePassed(now: 1 + Machine.snapshotLagPause)) == [0])
        #expect(reads(machine.readFailed(now: 2)).isEmpty)
        #expect(machine.wake == .init(eventAt: nil, deadline: 2 + Machine.retryPause))
        #expect(reads(machine.deadlinePassed(now: 2 + Machine.retryPause)) == [0])
    }

    @Test func wakesForARetryWhenItIsDue() {
        var machine = machine(concurrency: 1)
        _ = machine.headMoved(to: 1, now: 0)
        #expect(sent(machine.read(events(0..<1), now: 0)) == [[0]])
        #expect(sent(machine.completed([0], .retry(retryAfter: 3), throttled: false, now: 1, random: 0.5)).isEmpty)
        #expect(machine.wake == .init(eventAt: 1, deadline: 4))
        #expect(sent(machine.deadlinePassed(now: 4)) == [[0]])
    }

    /// The rate limit paces requests: one waits until the limiter allows it, and a 429
    /// pauses the session for the target's Retry-After.
    @Test func sendsNoFasterThanTheRateLimitAllows() throws {
        var machine = machine(concurrency: 4, limiter: AdaptiveRateLimiter(rate: 10, burst: 1, now: 0, startEmpty: true))
        _ = machine.headMoved(to: 3, now: 0)
        #expect(sent(machine.read(events(0..<3), now: 0)).isEmpty)
        let first = try #require(machine.wake.deadline)
        #expect(first > 0 && first <= 0.11)
        #expect(sent(machine.deadlinePassed(now: first)) == [[0]])
        let second = try #require(machine.wake.deadline)
        #expect(second > first)
        #expect(sent(machine.deadlinePassed(now: second)) == [[1]])
        _ = machine.completed([0], .retry(retryAfter: 5), throttled: true, now: second, random: 0)
        #expect(try #require(machine.wake.deadline) >= second + 4.99)
        #expect(sent(machine.deadlinePassed(now: second + 1)).isEmpty)
        #expect(machine.allowedRate < 10 * AdaptiveRateLimiter.targetShare)
    }

    /// On a partitioned stream, a head pending for the ordering window is announced to the
    /// other partitions on time, and withdrawn once it is delivered; a failed announcement
    /// is tried again.
    @Test func announcesAndWithdrawsItsHold() {
        var machine = machine(concurrency: 2, window: 2, partitions: 2)
        _ = machine.headMoved(to: 4, now: 0)
        #expect(sent(machine.read(events([0, 2]), now: 0)) == [[0], [2]])
        _ = machine.completed([0], .retry(retryAfter: 10), throttled: false, now: 0.5, random: 0)
        _ = machine.completed([2], .delivered, throttled: false, now: 0.5, random: 0)
        #expect(machine.wake.deadline == 2)
        #expect(holds(machine.deadlinePassed(now: 2)) == [true])
        #expect(holds(machine.holdPublished(true, succeeded: false, now: 2)).isEmpty)
        #expect(machine.wake.deadline == 2 + Machine.retryPause)
        #expect(holds(machine.deadlinePassed(now: 2 + Machine.retryPause)) == [true])
        _ = machine.holdPublished(true, succeeded: true, now: 2.3)
        let retried = machine.deadlinePassed(now: 10.5)
        #expect(sent(retried) == [[0]])
        let delivered = machine.completed([0], .delivered, throttled: false, now: 10.6, random: 0)
        #expect(holds(delivered) == [false])
        #expect(commits(delivered) == [4])
    }

    /// While another partition holds, no event goes for the first time; retries still do.
    @Test func sendsNothingFreshWhileAnotherPartitionHolds() {
        var machine = machine(concurrency: 4)
        _ = machine.setHoldFresh(true, now: 0)
        _ = machine.headMoved(to: 2, now: 0)
        #expect(sent(machine.read(events(0..<2), now: 0)).isEmpty)
        #expect(sent(machine.setHoldFresh(false, now: 0)) == [[0], [1]])
        _ = machine.completed([0], .retry(retryAfter: 1), throttled: false, now: 0, random: 0)
        _ = machine.setHoldFresh(true, now: 0)
        #expect(sent(machine.deadlinePassed(now: 1)) == [[0]])
    }

    /// A partitioned read that returns every event of the partition in its range moves
    /// past the range; one that comes back short moves only past what it returned.
    @Test func readsOnlyItsOwnPartition() {
        var machine = machine(concurrency: 10, partitions: 2, index: 1)
        #expect(reads(machine.headMoved(to: 10, now: 0)) == [0])
        let short = machine.read(events([1, 3]), now: 0)
        #expect(sent(short) == [[1], [3]])
        #expect(reads(short) == [4])
        _ = machine.read(events([5, 7, 9]), now: 0)
        #expect(machine.wake.eventAt == 10)
    }

    /// A drained session reads and sends nothing more, lets its requests finish, commits,
    /// withdraws its hold and finishes; a request waiting for the rate limit is not sent.
    @Test func finishesOnceItsRequestsInFlightHaveAnswered() {
        var machine = machine(concurrency: 2, limiter: AdaptiveRateLimiter(rate: 1, burst: 1, now: 0))
        _ = machine.headMoved(to: 5, now: 0)
        #expect(sent(machine.read(events(0..<5), now: 0)) == [[0]])
        let stopped = machine.stop(.drained, now: 0.1)
        #expect(!finishes(stopped))
        #expect(machine.wake == .init(eventAt: nil, deadline: nil))
        #expect(reads(machine.headMoved(to: 50, now: 0.2)).isEmpty)
        let last = machine.completed([0], .delivered, throttled: false, now: 0.3, random: 0)
        #expect(commits(last) == [1])
        #expect(finishes(last))
        #expect(machine.isFinished)
        #expect(machine.deadlinePassed(now: 5).isEmpty)

        var holding = self.machine(concurrency: 1, window: 1, partitions: 2)
        _ = holding.headMoved(to: 2, now: 0)
        _ = holding.read(events([0]), now: 0)
        _ = holding.completed([0], .retry(retryAfter: 5), throttled: false, now: 0, random: 0)
        _ = holding.deadlinePassed(now: 1)
        _ = holding.holdPublished(true, succeeded: true, now: 1)
        let end = holding.stop(.leaseLost, now: 1.5)
        #expect(holds(end) == [false])
        #expect(finishes(end))
        #expect(holding.stopReason == .leaseLost)
    }
}
