import EventflowCore
import Testing

@Suite struct DeliverySchedulerTests {
    typealias Scheduler = DeliveryScheduler<String>

    func scheduler(concurrency: Int = 4, batch: Int = 1, window: Double = 60, events: Int = 10) -> Scheduler {
        var scheduler = Scheduler(
            configuration: .init(concurrency: concurrency, batchSize: batch, orderingWindow: window, retry: RetrySchedule(initial: 1, maximum: 8)),
            startingAt: 100)
        for offset in 100..<(100 + Int64(events)) { scheduler.add(offset: offset, item: "e\(offset)") }
        return scheduler
    }

    func sent(_ action: Scheduler.Action) -> [Int64] {
        if case .send(let dispatches) = action { return dispatches.map(\.offset) }
        return []
    }

    @Test func sendsInOrderUpToTheConcurrency() {
        var scheduler = scheduler(concurrency: 2)
        #expect(sent(scheduler.next(now: 0)) == [100])
        #expect(sent(scheduler.next(now: 0)) == [101])
        guard case .idle = scheduler.next(now: 0) else { Issue.record("expected idle at full concurrency"); return }
        scheduler.complete([100], .delivered, now: 0.1, random: 0)
        #expect(sent(scheduler.next(now: 0.1)) == [102])
    }

    @Test func batchesConsecutiveEvents() {
        var scheduler = scheduler(batch: 4)
        #expect(sent(scheduler.next(now: 0)) == [100, 101, 102, 103])
        #expect(sent(scheduler.next(now: 0)) == [104, 105, 106, 107])
        #expect(sent(scheduler.next(now: 0)) == [108, 109])
    }

    @Test func commitsOnlyBelowTheFirstEventNotDone() {
        var scheduler = scheduler()
        for _ in 0..<3 { _ = scheduler.next(now: 0) }
        scheduler.complete([101], .delivered, now: 1, random: 0)
        scheduler.complete([102], .deadLettered, now: 1, random: 0)
        #expect(scheduler.committableOffset == 100)
        scheduler.complete([100], .delivered, now: 1, random: 0)
        #expect(scheduler.committableOffset == 103)
        #expect(scheduler.outstanding == 7)
    }

    /// What the scheduler holds is counted in bytes as well as events: an event weighs its
    /// bytes until it is done, also while an older one is stuck at the head, and once only.
    @Test func holdsTheBytesOfEventsNotDone() {
        var scheduler = Scheduler(configuration: .init(concurrency: 4), startingAt: 0)
        for offset in Int64(0)..<4 { scheduler.add(offset: offset, item: "e\(offset)", bytes: 1_000) }
        #expect(scheduler.outstandingBytes == 4_000)
        for _ in 0..<4 { _ = scheduler.next(now: 0) }
        scheduler.complete([0], .retry(retryAfter: nil), now: 0, random: 0)
        scheduler.complete([1], .delivered, now: 0, random: 0)
        scheduler.complete([2], .deadLettered, now: 0, random: 0)
        // Behind the stuck head, the delivered events no longer weigh anything.
        #expect(scheduler.committableOffset == 0)
        #expect(scheduler.outstanding == 4)
        #expect(scheduler.outstandingBytes == 2_000)
        scheduler.complete([3], .delivered, now: 0, random: 0)
        #expect(scheduler.outstandingBytes == 1_000)
        #expect(sent(scheduler.next(now: 100)) == [0])
        scheduler.complete([0], .delivered, now: 100, random: 0)
        #expect(scheduler.outstandingBytes == 0)
        #expect(scheduler.committableOffset == 4)
    }

    @Test func retriesAfterTheBackoffAndRetryAfter() {
        var scheduler = scheduler(concurrency: 1, events: 2)
        _ = scheduler.next(now: 0)
        scheduler.complete([100], .retry(retryAfter: 5), now: 1, random: 0.5)
        #expect(sent(scheduler.next(now: 1)) == [101])
        scheduler.complete([101], .delivered, now: 1.1, random: 0)
        guard case .waitUntil(let time) = scheduler.next(now: 1.2) else { Issue.record("expected a wait"); return }
        #expect(time == 6)
        let retry = scheduler.next(now: 6)
        guard case .send(let dispatches) = retry else { Issue.record("expected the retry"); return }
        #expect(dispatches.map(\.offset) == [100])
        #expect(dispatches[0].attempt == 2)
    }

    @Test func holdsLaterEventsOnceTheHeadIsPendingForTheWindow() {
        var scheduler = scheduler(concurrency: 4, window: 2, events: 10)
        #expect(sent(scheduler.next(now: 0)) == [100])
        scheduler.complete([100], .retry(retryAfter: nil), now: 0.1, random: 0.5)
        #expect(sent(scheduler.next(now: 0.2)) == [101])
        scheduler.complete([101], .delivered, now: 0.3, random: 0)
        #expect(scheduler.headBlockedSeconds(now: 1) == 0)
        // Two seconds after the head's first attempt, nothing but the head may go.
        #expect(sent(scheduler.next(now: 2)) == [100])
        guard case .idle = scheduler.next(now: 2) else { Issue.record("later events must be held"); return }
        scheduler.complete([100], .retry(retryAfter: nil), now: 2.1, random: 0.99)
        #expect(scheduler.headBlockedSeconds(now: 2.5) == 0.5)
        guard case .waitUntil(let retryAt) = scheduler.next(now: 3) else { Issue.record("expected to wait for the head only"); return }
        #expect(abs(retryAt - 4.08) < 1e-9)
        #expect(sent(scheduler.next(now: 4.1)) == [100])
        scheduler.complete([100], .delivered, now: 4.2, random: 0)
        #expect(scheduler.headBlockedSeconds(now: 4.2) == 0)
        #expect(scheduler.committableOffset == 102)
        #expect(sent(scheduler.next(now: 4.2)) == [102])
    }

    @Test func isolatesTheEventsOfARejectedBatch() {
        var scheduler = scheduler(batch: 3, events: 3)
        #expect(sent(scheduler.next(now: 0)) == [100, 101, 102])
        scheduler.complete([100, 101, 102], .isolate, now: 0.1, random: 0)
        #expect(sent(scheduler.next(now: 0.1)) == [100])
        #expect(sent(scheduler.next(now: 0.1)) == [101])
        #expect(sent(scheduler.next(now: 0.1)) == [102])
    }

    /// A scheduler of one partition (every third offset from 101) commits stream offsets:
    /// below its first event not done, or up to where the stream was read.
    @Test func aPartitionsSchedulerCommitsStreamOffsets() {
        var scheduler = Scheduler(configuration: .init(concurrency: 4, batchSize: 2), cursor: 100, firstOffset: 101, stride: 3)
        #expect(scheduler.committableOffset == 100)
        for offset: Int64 in [101, 104, 107] { scheduler.add(offset: offset, item: "e\(offset)") }
        #expect(scheduler.nextOffset == 110)
        #expect(scheduler.readOffset == 108)
        #expect(sent(scheduler.next(now: 0)) == [101, 104])
        #expect(sent(scheduler.next(now: 0)) == [107])
        scheduler.complete([107], .delivered, now: 0.1, random: 0)
        #expect(scheduler.committableOffset == 101)
        scheduler.complete([101, 104], .delivered, now: 0.1, random: 0)
        #expect(scheduler.committableOffset == 108)
        // The stream was read up to 109 and held nothing more of this partition's.
        scheduler.scanned(upTo: 109)
        #expect(scheduler.committableOffset == 109)
        #expect(scheduler.readOffset == 109)
        scheduler.add(offset: 110, item: "e110")
        #expect(scheduler.committableOffset == 110)
        #expect(sent(scheduler.next(now: 0.2)) == [110])
        scheduler.complete([110], .retry(retryAfter: nil), now: 0.3, random: 0)
        #expect(scheduler.committableOffset == 110)
    }

    /// While another partition holds, nothing goes out for the first time, but retries do.
    @Test func holdsFreshEventsWhileAnotherPartitionHolds() {
        var scheduler = scheduler(concurrency: 4, window: 2, events: 5)
        #expect(sent(scheduler.next(now: 0)) == [100])
        scheduler.complete([100], .retry(retryAfter: nil), now: 0.1, random: 0.5)
        #expect(!scheduler.isHolding(now: 1))
        guard case .waitUntil(let retryAt) = scheduler.next(now: 0.1, holdFresh: true) else { Issue.record("fresh events must wait"); return }
        #expect(sent(scheduler.next(now: retryAt, holdFresh: true)) == [100])
        #expect(sent(scheduler.next(now: retryAt)) == [101])
        #expect(scheduler.isHolding(now: 2))
    }

    @Test func concurrencyCanChangeWhileRunning() {
        var scheduler = scheduler(concurrency: 1)
        #expect(sent(scheduler.next(now: 0)) == [100])
        guard case .idle = scheduler.next(now: 0) else { Issue.record("expected idle at full concurrency"); return }
        scheduler.setConcurrency(3)
        #expect(sent(scheduler.next(now: 0)) == [101])
        #expect(sent(scheduler.next(now: 0)) == [102])
        scheduler.setConcurrency(1)
        scheduler.complete([100], .delivered, now: 0.1, random: 0)
        guard case .idle = scheduler.next(now: 0.1) else { Issue.record("two requests are still out, one allowed"); return }
    }

    @Test func keepsWorkingAcrossManyEvents() {
        var scheduler = Scheduler(configuration: .init(concurrency: 8, batchSize: 7), startingAt: 0)
        var now = 0.0
        var delivered = 0
        var added: Int64 = 0
        while delivered < 50_000 {
            while scheduler.outstanding < 1_000 {
                scheduler.add(offset: added, item: "e")
                added += 1
            }
            if case .send(let dispatches) = scheduler.next(now: now) {
                scheduler.complete(dispatches.map(\.offset), .delivered, now: now, random: 0)
                delivered += dispatches.count
            }
            now += 0.001
        }
        #expect(scheduler.committableOffset == Int64(delivered))
    }
}
