import AsyncHTTPClient
import EventflowCore
import EventflowLog
import Foundation
import Logging
import NIOCore
import Synchronization

/// Delivery of one partition of stream `events` while this process holds its lease.
///
/// One loop owns the partition's ``DeliveryScheduler``; requests run as child tasks and
/// report back through a mailbox, as do a 20 ms ticker (for due retries and new events)
/// and ``drain()``. The cursor only moves past events delivered or dead-lettered; a
/// committer task commits the newest such offset as fast as group commit allows, so
/// after a crash only events in flight, waiting to retry, or delivered during the last
/// commit are sent again. A session that loses its lease, or is told to drain, stops
/// sending, lets its requests in flight finish, commits, and ends.
final class DeliverySession: Sendable {
    typealias Scheduler = DeliveryScheduler<StoredEvent>

    enum Signal: Sendable {
        case completed([Int64], Scheduler.Completion)
        case tick
        case drain
    }

    let partition: StreamPartition
    private let partitions: Int
    private let cursorName: String
    private let storage: EventStorage
    private let client: PeerClient
    private let configuration: DeliveryConfiguration
    private let metrics: DeliveryMetrics
    private let gauges: DeliveryGauges
    private let logger: Logger
    /// This partition's share of the target's limit; nil inside when the target has no known limit.
    private let limiter: Mutex<AdaptiveRateLimiter?>
    private let enricher: JSONEnricher
    private let started = ContinuousClock.now
    private let mailbox = Mutex<AsyncStream<Signal>.Continuation?>(nil)
    private let draining = Atomic<Bool>(false)
    private let concurrencyLimit: Atomic<Int>
    private let othersHolding = Atomic<Bool>(false)

    init(
        storage: EventStorage, client: PeerClient, configuration: DeliveryConfiguration, partition: StreamPartition, partitions: Int, cursorName: String,
        metrics: DeliveryMetrics, gauges: DeliveryGauges, logger: Logger
    ) {
        self.storage = storage
        self.client = client
        self.configuration = configuration
        self.partition = partition
        self.partitions = partitions
        self.cursorName = cursorName
        self.metrics = metrics
        self.gauges = gauges
        self.logger = logger
        let share = 1 / Double(partitions)
        // A session starts with an empty bucket: the process that held this partition before may just have spent its burst.
        limiter = Mutex(
            configuration.targetRate.map { rate in
                AdaptiveRateLimiter(rate: rate * share, burst: max(1, (configuration.targetBurst ?? rate) * share), now: 0, startEmpty: true)
            })
        enricher = JSONEnricher(strings: configuration.enrichment)
        concurrencyLimit = Atomic(configuration.concurrency)
    }

    /// Whether the session was told to stop, or has lost its lease.
    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Requests this session may have in flight (its part of the process's limit).
    var concurrency: Int {
        get { concurrencyLimit.load(ordering: .relaxed) }
        set { concurrencyLimit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Whether another partition holds its later events back behind a stuck one: then this
    /// one sends nothing for the first time either, so the ordering window holds across partitions.
    var holdFresh: Bool {
        get { othersHolding.load(ordering: .relaxed) }
        set { othersHolding.store(newValue, ordering: .relaxed) }
    }

    /// Stops sending; the session ends once its requests in flight have finished.
    func drain() {
        draining.store(true, ordering: .relaxed)
        _ = mailbox.withLock { $0?.yield(.drain) }
    }

    /// Seconds since the session started, on the monotonic clock.
    private var now: Double { (ContinuousClock.now - started).seconds }

    /// Delivers from the committed cursor until drained or until another process takes the lease.
    func run() async throws {
        let (signals, post) = AsyncStream.makeStream(of: Signal.self)
        let (committable, commitNewest) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let committer = Task {
            for await offset in committable { await commit(offset) }
        }
        defer { commitNewest.finish() }
        let cursor = try await storage.state.cursor(processor: cursorName, stream: DeliverProcessor.stream)
        try await storage.state.commitCursor(processor: cursorName, stream: DeliverProcessor.stream, to: cursor)
        var scheduler = Scheduler(
            configuration: .init(
                concurrency: concurrency, batchSize: configuration.batchSize, orderingWindow: configuration.orderingWindow, retry: configuration.retry),
            cursor: cursor, firstOffset: partition.first(atOrAfter: cursor), stride: partitions)
        logger.info("deliver started", metadata: ["target": "\(configuration.targetURL)", "partition": "\(partition)", "cursor": "\(cursor)"])
        mailbox.withLock { $0 = post }
        if isDraining { post.yield(.drain) }

        await withDiscardingTaskGroup { group in
            let ticker = CoalescingTicker(every: .milliseconds(20))
            group.addTask { await ticker.run { post.yield(.tick) } }
            var stopped = false
            var committed = cursor
            var publishedHold = false
            for await signal in signals {
                switch signal {
                case .completed(let offsets, let completion):
                    scheduler.complete(offsets, completion, now: now, random: Double.random(in: 0..<1))
                case .tick:
                    ticker.taken()
                    if !stopped, !holdsLease {
                        logger.warning(
                            "deliver lost its lease to another process; finishing requests in flight and standing by", metadata: ["partition": "\(partition)"])
                        draining.store(true, ordering: .relaxed)
                    }
                case .drain:
                    break
                }
                stopped = isDraining
                if partitions > 1, scheduler.isHolding(now: now) != publishedHold, await publishHold(!publishedHold) {
                    publishedHold.toggle()
                }
                if !stopped {
                    if scheduler.configuration.concurrency != concurrency { scheduler.setConcurrency(concurrency) }
                    await readAhead(into: &scheduler)
                    dispatch(&scheduler, group: &group, post: post)
                }
                gauges.update(
                    partition.index, inFlight: scheduler.requestsInFlight, headBlocked: scheduler.headBlockedSeconds(now: now),
                    rate: limiter.withLock { $0?.currentRate ?? 0 }, metrics: metrics)
                if scheduler.committableOffset > committed {
                    committed = scheduler.committableOffset
                    commitNewest.yield(committed)
                }
                if stopped, scheduler.requestsInFlight == 0 { break }
            }
            if publishedHold { _ = await publishHold(false) }
            group.cancelAll()
        }
        mailbox.withLock { $0 = nil }
        commitNewest.finish()
        await committer.value
        logger.info("deliver stopped", metadata: ["partition": "\(partition)", "cursor": "\(scheduler.committableOffset)"])
    }

    private var holdsLease: Bool { storage.coordination.holdsLease(processor: cursorName, stream: DeliverProcessor.stream) }

    /// Tells the other partitions whether this one holds; false when the log could not record it (tried again later).
    private func publishHold(_ holding: Bool) async -> Bool {
        do {
            try await storage.coordination.setHold(group: DeliverProcessor.name, member: cursorName, holding: holding)
            if holding { logger.warning("deliver holds every partition back behind a stuck event", metadata: ["partition": "\(partition)"]) }
            return true
        } catch {
            logger.warning("could not record the ordering hold; retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
            return false
        }
    }

    /// Reads the partition's next events into the scheduler, up to its part of the read-ahead
    /// limits in events and in bytes.
    private func readAhead(into scheduler: inout Scheduler) async {
        let room = max(1_000, configuration.readAhead / partitions) - scheduler.outstanding
        let byteRoom = configuration.readAheadBytes / partitions - scheduler.outstandingBytes
        let head = storage.log.headOffset(stream: DeliverProcessor.stream)
        guard room > 0, byteRoom > 0, scheduler.readOffset < head else { return }
        let limit = min(room, 1_000)
        let from = scheduler.readOffset
        // The read can hold at most `limit` events of the partition, all below windowEnd (offsets are dense).
        let windowEnd = min(head, from + Int64(limit) * Int64(partitions))
        do {
            let events = try await storage.log.read(
                stream: DeliverProcessor.stream, from: from, limit: limit, maxBytes: byteRoom, bodies: true, partition: partitions > 1 ? partition : nil)
            for event in events { scheduler.add(offset: event.offset, item: event, bytes: event.body.readableBytes) }
            // A read can come back short of the head read before it (a reader's snapshot may lag the
            // published head); only one that held every event of the partition below windowEnd moves past them.
            if events.count >= partition.events(from: from, to: windowEnd) { scheduler.scanned(upTo: windowEnd) }
        } catch {
            logger.warning("reading events failed; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func dispatch(_ scheduler: inout Scheduler, group: inout DiscardingTaskGroup, post: AsyncStream<Signal>.Continuation) {
        while case .send(let dispatches) = scheduler.next(now: now, holdFresh: holdFresh) {
            group.addTask {
                let completion = await self.deliver(dispatches)
                post.yield(.completed(dispatches.map(\.offset), completion))
            }
        }
    }

    /// Commits the cursor, retrying until it sticks (or the log is shutting down, or the lease is gone).
    private func commit(_ offset: Int64) async {
        while true {
            do {
                try await storage.state.commitCursor(processor: cursorName, stream: DeliverProcessor.stream, to: offset)
                return
            } catch EventLogError.shuttingDown {
                return
            } catch EventLogError.leaseLost {
                return
            } catch {
                logger.warning("committing the deliver cursor failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Sends one request and says what the scheduler should do with its events.
    private func deliver(_ dispatches: [Scheduler.Dispatch]) async -> Scheduler.Completion {
        await waitForRateLimit()
        // A request that waited for the rate limit past the lease's end is not sent: the new holder sends it.
        guard holdsLease else { return .retry(retryAfter: nil) }
        let events = dispatches.map(\.item)
        let requestStarted = ContinuousClock.now
        let answer = await send(events)
        let outcome = answer.outcome
        metrics.recordAttempt(outcome, duration: ContinuousClock.now - requestStarted)
        switch outcome {
        case .delivered:
            metrics.delivered.increment(by: Int64(events.count))
            return .delivered
        case .throttled(let retryAfter):
            let now = now
            limiter.withLock { $0?.throttled(retryAfter: retryAfter, now: now) }
            return .retry(retryAfter: retryAfter)
        case .failed(_, let retryAfter):
            return .retry(retryAfter: retryAfter)
        case .timedOut, .connectionFailed:
            return .retry(retryAfter: nil)
        case .rejected, .unsendable:
            guard events.count == 1 else { return .isolate }
            // A request that could not be built is recorded with status 0 and the reason.
            let (status, response) = if case .rejected(let status) = outcome { (status, answer.excerpt) } else { (0, "\(outcome)") }
            let failedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
            do {
                try await storage.deadLetters.recordDeadLetters(events.map { DeadLetter(event: $0, status: status, response: response, failedAtMs: failedAtMs) })
                metrics.deadLetters.increment()
                logger.warning("event dead-lettered", metadata: ["id": "\(events[0].id ?? "")", "status": "\(status)", "reason": "\(response)"])
                return .deadLettered
            } catch {
                logger.warning("recording a dead letter failed; retrying the event", metadata: ["error": "\(error)"])
                return .retry(retryAfter: nil)
            }
        }
    }

    private func waitForRateLimit() async {
        while true {
            let now = now
            guard case .wait(let seconds) = limiter.withLock({ $0?.acquire(now: now) ?? .allowed }) else { return }
            try? await Task.sleep(for: .checkedSeconds(seconds))
        }
    }

    /// POSTs the enriched events; returns the outcome and the start of the answer.
    private func send(_ events: [StoredEvent]) async -> PeerClient.Answer {
        var body: [UInt8] = []
        body.reserveCapacity(events.reduce(2) { $0 + $1.body.readableBytes + 32 })
        if events.count > 1 { body.append(UInt8(ascii: "[")) }
        for (index, event) in events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            event.body.withUnsafeReadableBytes { enricher.enrich($0, into: &body) }
        }
        if events.count > 1 { body.append(UInt8(ascii: "]")) }

        let headers = events.count == 1 ? events[0].id.map { [("Idempotency-Key", $0)] } ?? [] : []
        return await client.postJSON(configuration.targetURL, body: ByteBuffer(bytes: body), headers: headers, timeout: configuration.timeout)
    }
}

/// The delivery gauges of a process: the sum (in flight, allowed rate) or the worst
/// (time blocked behind the ordering window) over the partitions it delivers.
final class DeliveryGauges: Sendable {
    private let partitions = Mutex<[Int: (inFlight: Int, headBlocked: Double, rate: Double)]>([:])

    func update(_ partition: Int, inFlight: Int, headBlocked: Double, rate: Double, metrics: DeliveryMetrics) {
        let all = partitions.withLock { partitions in
            partitions[partition] = (inFlight, headBlocked, rate)
            return Array(partitions.values)
        }
        publish(all, metrics: metrics)
    }

    func remove(_ partition: Int, metrics: DeliveryMetrics) {
        publish(partitions.withLock { partitions in
            partitions[partition] = nil
            return Array(partitions.values)
        }, metrics: metrics)
    }

    private func publish(_ all: [(inFlight: Int, headBlocked: Double, rate: Double)], metrics: DeliveryMetrics) {
        metrics.inFlight.set(Double(all.reduce(0) { $0 + $1.inFlight }))
        metrics.headBlocked.set(all.map(\.headBlocked).max() ?? 0)
        metrics.rateLimit.set(all.reduce(0) { $0 + $1.rate })
    }
}
