import EventflowCore
import Testing

@Suite struct CallbackFiringTests {
    func machine(concurrency: Int = 2, maxRetrying: Int = 100, lookEveryMs: Int64 = 1_000) -> CallbackFiring {
        CallbackFiring(
            configuration: .init(concurrency: concurrency, maxRetrying: maxRetrying, retry: RetrySchedule(initial: 1, maximum: 8), lookEveryMs: lookEveryMs))
    }

    func callback(_ id: String) -> AccountCallback { AccountCallback(id: id, version: 1) }

    func sent(_ actions: [CallbackFiring.Action]) -> [String] {
        actions.flatMap { action -> [String] in if case .send(let callbacks) = action { callbacks.map(\.id) } else { [] } }
    }

    func readLimits(_ actions: [CallbackFiring.Action]) -> [Int] {
        actions.compactMap { if case .readDue(let limit) = $0 { limit } else { nil } }
    }

    @Test func looksAtOnceThenSleepsUntilTheNextCallbackIsDue() {
        var machine = machine()
        #expect(readLimits(machine.deadlinePassed(nowMs: 1_000, holdsLease: true)) == [2])
        #expect(machine.wakeAtMs == nil)
        let actions = machine.dueRead([callback("a")], limit: 2, nextDueMs: 1_300, nowMs: 1_000)
        #expect(sent(actions) == ["a"])
        #expect(machine.wakeAtMs == 1_300)
        #expect(readLimits(machine.deadlinePassed(nowMs: 1_300, holdsLease: true)) == [3])
        // With nothing pending, it still looks once per lookEveryMs.
        _ = machine.dueRead([], limit: 3, nextDueMs: nil, nowMs: 1_300)
        #expect(machine.wakeAtMs == 2_300)
    }

    /// A process that does not hold the accounts lease fires nothing and checks again later.
    @Test func standsByWithoutTheLease() {
        var machine = machine()
        #expect(machine.deadlinePassed(nowMs: 0, holdsLease: false).isEmpty)
        #expect(machine.wakeAtMs == 1_000)
        #expect(readLimits(machine.deadlinePassed(nowMs: 1_000, holdsLease: true)) == [2])
    }

    /// News of a callback scheduled sooner than the machine's next look brings that look forward.
    @Test func aCallbackScheduledSoonerWakesItSooner() {
        var machine = machine()
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([], limit: 2, nextDueMs: 900, nowMs: 0)
        #expect(machine.scheduled(dueAtMs: 400, nowMs: 10).isEmpty)
        #expect(machine.wakeAtMs == 400)
        #expect(readLimits(machine.scheduled(dueAtMs: 5, nowMs: 30)) == [2])
    }

    /// Callbacks due close together are fired a little late in one look, not one look
    /// each: the machine looks at most every minLookIntervalMs.
    @Test func looksAtMostEveryMinimumInterval() {
        var machine = machine()
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([], limit: 2, nextDueMs: 3, nowMs: 0)
        #expect(machine.wakeAtMs == 20)
        #expect(machine.scheduled(dueAtMs: 5, nowMs: 10).isEmpty)
        #expect(readLimits(machine.deadlinePassed(nowMs: 20, holdsLease: true)) == [2])
    }

    /// Settled callbacks wait a moment to be recorded together, in one commit.
    @Test func recordsWhatSettledInOneCommit() {
        var machine = machine(concurrency: 3)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a"), callback("b")], limit: 3, nextDueMs: nil, nowMs: 0)
        #expect(machine.completed(callback("a"), .delivered, nowMs: 5, random: 0).allSatisfy { if case .record = $0 { false } else { true } })
        _ = machine.completed(callback("b"), .rejected(status: 400), nowMs: 10, random: 0)
        #expect(machine.wakeAtMs == 25)
        let record = machine.deadlinePassed(nowMs: 25, holdsLease: true)
        #expect(record.contains(.record([.init(callback("a"), .fired), .init(callback("b"), .failed)])))
    }

    /// What settled is recorded before the next look at the table, which would otherwise
    /// still list a fired callback as pending and fire it again.
    @Test func recordsBeforeLookingAgain() {
        var machine = machine(concurrency: 1)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a")], limit: 1, nextDueMs: nil, nowMs: 0)
        #expect(machine.completed(callback("a"), .delivered, nowMs: 25, random: 0) == [.record([.init(callback("a"), .fired)]), .readDue(limit: 1)])
    }

    /// A failed callback gives up its claim and is tried again after its backoff, not before.
    @Test func retriesAfterTheBackoff() {
        var machine = machine(lookEveryMs: 10_000)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a")], limit: 2, nextDueMs: nil, nowMs: 0)
        let failed = machine.completed(callback("a"), .failed(status: 503, retryAfter: 2), nowMs: 100, random: 0)
        #expect(failed.contains(.release(callback("a"))))
        #expect(machine.retrying == 1)
        #expect(machine.wakeAtMs == 2_100)
        // A look before then (another callback scheduled) leaves it waiting.
        #expect(readLimits(machine.scheduled(dueAtMs: 1_000, nowMs: 1_000)) == [3])
        #expect(sent(machine.dueRead([callback("a")], limit: 3, nextDueMs: nil, nowMs: 1_000)).isEmpty)
        #expect(machine.wakeAtMs == 2_100)
        _ = machine.deadlinePassed(nowMs: 2_100, holdsLease: true)
        #expect(sent(machine.dueRead([callback("a")], limit: 3, nextDueMs: nil, nowMs: 2_100)) == ["a"])
    }

    /// A retry whose callback is no longer pending (replaced by a newer version) is dropped,
    /// once a read shows every due callback.
    @Test func dropsRetriesThatAreNoLongerPending() {
        var machine = machine()
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a")], limit: 2, nextDueMs: nil, nowMs: 0)
        _ = machine.completed(callback("a"), .timedOut, nowMs: 0, random: 0)
        #expect(machine.retrying == 1)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([], limit: 3, nextDueMs: nil, nowMs: 0)
        #expect(machine.retrying == 0)
    }

    /// More due callbacks than room: the rest wait, and an answer that frees room looks again.
    @Test func anAnswerThatFreesRoomLooksAgain() {
        var machine = machine(concurrency: 1)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        #expect(sent(machine.dueRead([callback("a")], limit: 1, nextDueMs: nil, nowMs: 0)) == ["a"])
        #expect(machine.wakeAtMs == nil)
        #expect(readLimits(machine.completed(callback("a"), .delivered, nowMs: 50, random: 0)) == [1])
    }

    /// A fresh callback that could push the retries past their bound waits in the table.
    @Test func keepsTheRetriesWithinTheirBound() {
        var machine = machine(concurrency: 4, maxRetrying: 1)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        #expect(sent(machine.dueRead([callback("a"), callback("b")], limit: 4, nextDueMs: nil, nowMs: 0)) == ["a"])
        _ = machine.completed(callback("a"), .connectionFailed, nowMs: 0, random: 0)
        _ = machine.deadlinePassed(nowMs: 1_000, holdsLease: true)
        #expect(sent(machine.dueRead([callback("a"), callback("b")], limit: 5, nextDueMs: nil, nowMs: 1_000)) == ["a"])
    }

    /// A callback that could not be claimed (cancelled) leaves the in-flight set at once.
    @Test func aSkippedCallbackIsNoLongerInFlight() {
        var machine = machine(concurrency: 1)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a")], limit: 1, nextDueMs: nil, nowMs: 0)
        _ = machine.skipped(callback("a"), nowMs: 0)
        #expect(machine.wakeAtMs == 1_000)
    }

    /// A failed read of the table is tried again after a pause.
    @Test func readsAgainAfterAFailedRead() {
        var machine = machine()
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        #expect(machine.dueRead(nil, limit: 2, nextDueMs: nil, nowMs: 0).isEmpty)
        #expect(machine.wakeAtMs == CallbackFiring.readRetryPauseMs)
    }

    /// On shutdown nothing new is read or sent; the machine finishes once the callbacks in
    /// flight have answered, recording what settled at once.
    @Test func finishesOnceTheCallbacksInFlightHaveAnswered() {
        var machine = machine(concurrency: 3)
        _ = machine.deadlinePassed(nowMs: 0, holdsLease: true)
        _ = machine.dueRead([callback("a"), callback("b")], limit: 3, nextDueMs: nil, nowMs: 0)
        _ = machine.completed(callback("a"), .delivered, nowMs: 1, random: 0)
        let stopping = machine.stop(nowMs: 2)
        #expect(stopping == [.record([.init(callback("a"), .fired)])])
        #expect(machine.wakeAtMs == nil)
        let last = machine.completed(callback("b"), .delivered, nowMs: 3, random: 0)
        #expect(last == [.record([.init(callback("b"), .fired)]), .finish])
        #expect(machine.isFinished)
    }
}
