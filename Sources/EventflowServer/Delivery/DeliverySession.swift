import AsyncHTTPClient
import EventflowCore
import EventflowLog
import Foundation
import Logging
import NIOCore
import Synchronization

/// Delivery of one partition of stream `events` while this process holds its lease.
///
/// The rules live in a ``DeliverySessionMachine``; this is its executor. One loop feeds the
/// machine what happens (events read, answers, a deadline, the processor's messages) and
/// performs what it returns: reads, requests (child tasks that post their answer back),
/// cursor commits and ordering holds. Between inputs it sleeps until the machine's next
/// deadline, the stream's next event (when there is room for it) or a message, and checks
/// its lease at least once a second. The cursor only moves past events delivered or
/// dead-lettered; a committer task commits the newest such offset as fast as group commit
/// allows, so after a crash only events in flight, waiting to retry, or delivered during
/// the last commit are sent again. A session that loses its lease, or is told to drain,
/// stops sending, lets its requests in flight finish, commits, and ends.
final class DeliverySession: Sendable {
    typealias Machine = DeliverySessionMachine<StoredEvent>

    enum Signal: Sendable {
        case completed([Int64], Machine.Scheduler.Completion, throttled: Bool)
        case eventsArrived
        case deadline
        case concurrency(Int)
        case holdFresh(Bool)
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
    private let enricher: JSONEnricher
    private let started = ContinuousClock.now
    private let signals: AsyncStream<Signal>
    private let post: AsyncStream<Signal>.Continuation

    /// The longest the session sleeps: it then checks its lease again.
    static var leaseCheckInterval: Duration { .seconds(1) }

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
        enricher = JSONEnricher(strings: configuration.enrichment)
        (signals, post) = AsyncStream.makeStream(of: Signal.self)
    }

    /// Stops sending; the session ends once its requests in flight have finished.
    func drain() { post.yield(.drain) }

    /// Sets how many requests the session may have in flight (its part of the process's limit).
    func setConcurrency(_ concurrency: Int) { post.yield(.concurrency(concurrency)) }

    /// Tells the session whether another partition holds its later events back behind a
    /// stuck one: then this one sends nothing for the first time either.
    func setHoldFresh(_ holdFresh: Bool) { post.yield(.holdFresh(holdFresh)) }

    /// Seconds since the session started, on the monotonic clock: the machine's time.
    private var now: Double { (ContinuousClock.now - started).seconds }

    /// Delivers from the committed cursor until drained or until another process takes the lease.
    func run() async throws {
        let (committable, commitNewest) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let committer = Task {
            for await offset in committable { await commit(offset) }
        }
        defer { commitNewest.finish() }
        var cursor = try await storage.state.cursor(processor: cursorName, stream: DeliverProcessor.stream)
        // Retention never passes a cursor, so only a partition that starts after the stream's
        // oldest events went (it had no cursor then) finds them gone: it goes on from the
        // first kept and counts what it never saw.
        if let firstRetained = try await storage.retention.oldestBatches(stream: DeliverProcessor.stream, limit: 1).first?.firstOffset,
            firstRetained > cursor
        {
            let skipped = partitions > 1 ? partition.events(from: cursor, to: firstRetained) : firstRetained - cursor
            logger.warning(
                "the events before this partition's cursor were deleted by retention; going on from the first one kept",
                metadata: ["partition": "\(partition)", "cursor": "\(cursor)", "first_retained": "\(firstRetained)"])
            metrics.deletedUnprocessed.increment(by: skipped)
            cursor = firstRetained
        }
        try await storage.state.commitCursor(processor: cursorName, stream: DeliverProcessor.stream, to: cursor)
        let share = 1 / Double(partitions)
        var machine = Machine(
            configuration: .init(
                concurrency: configuration.concurrency, batchSize: configuration.batchSize, orderingWindow: configuration.orderingWindow,
                retry: configuration.retry),
            cursor: cursor, firstOffset: partition.first(atOrAfter: cursor), partitions: partitions,
            limits: .init(events: max(1_000, configuration.readAhead / partitions), bytes: max(1, configuration.readAheadBytes / partitions)),
            // A session starts with an empty bucket: the process that held this partition before may just have spent its burst.
            limiter: configuration.targetRate.map { rate in
                AdaptiveRateLimiter(rate: rate * share, burst: max(1, (configuration.targetBurst ?? rate) * share), now: 0, startEmpty: true)
            })
        logger.info("deliver started", metadata: ["target": "\(configuration.targetURL)", "partition": "\(partition)", "cursor": "\(cursor)"])

        await withDiscardingTaskGroup { group in
            var deadlineWake = PendingWake<ContinuousClock.Instant>()
            var eventWake = PendingWake<Int64>()
            var leaseCheckAt = ContinuousClock.now + Self.leaseCheckInterval
            var signals = signals.makeAsyncIterator()
            var actions = machine.headMoved(to: storage.log.headOffset(stream: DeliverProcessor.stream), now: now)
            while true {
                while !actions.isEmpty {
                    actions += await perform(actions.removeFirst(), on: &machine, group: &group, commit: commitNewest)
                }
                gauges.update(
                    partition.index, inFlight: machine.scheduler.requestsInFlight, headBlocked: machine.scheduler.headBlockedSeconds(now: now),
                    rate: machine.allowedRate, metrics: metrics)
                if machine.isFinished { break }
                let wake = machine.wake
                deadlineWake.set(min(wake.deadline.map { started + .checkedSeconds($0) } ?? leaseCheckAt, leaseCheckAt)) { deadline in
                    try? await Task.sleep(until: deadline)
                    if !Task.isCancelled { self.post.yield(.deadline) }
                }
                eventWake.set(wake.eventAt) { offset in
                    await self.storage.log.waitForEvent(in: DeliverProcessor.stream, at: offset)
                    if !Task.isCancelled { self.post.yield(.eventsArrived) }
                }
                guard let signal = await signals.next() else { break }
                switch signal {
                case .completed(let offsets, let completion, let throttled):
                    actions = machine.completed(offsets, completion, throttled: throttled, now: now, random: Double.random(in: 0..<1))
                case .eventsArrived:
                    eventWake.ended()
                    actions = machine.headMoved(to: storage.log.headOffset(stream: DeliverProcessor.stream), now: now)
                case .deadline:
                    deadlineWake.ended()
                    if ContinuousClock.now >= leaseCheckAt {
                        leaseCheckAt = ContinuousClock.now + Self.leaseCheckInterval
                        if machine.stopReason == nil, !holdsLease {
                            logger.warning(
                                "deliver lost its lease to another process; finishing requests in flight and standing by", metadata: ["partition": "\(partition)"])
                            actions = machine.stop(.leaseLost, now: now)
                            continue
                        }
                    }
                    actions = machine.deadlinePassed(now: now)
                case .concurrency(let concurrency):
                    actions = machine.setConcurrency(concurrency, now: now)
                case .holdFresh(let holdFresh):
                    actions = machine.setHoldFresh(holdFresh, now: now)
                case .drain:
                    actions = machine.stop(.drained, now: now)
                }
            }
            deadlineWake.cancel()
            eventWake.cancel()
        }
        commitNewest.finish()
        await committer.value
        logger.info("deliver stopped", metadata: ["partition": "\(partition)", "cursor": "\(machine.scheduler.committableOffset)"])
    }

    /// Performs one of the machine's actions; returns what the machine makes of its result
    /// when it has one at once (a read, a hold recorded).
    private func perform(
        _ action: Machine.Action, on machine: inout Machine, group: inout DiscardingTaskGroup, commit: AsyncStream<Int64>.Continuation
    ) async -> [Machine.Action] {
        switch action {
        case .read(let from, let limit, let maxBytes):
            do {
                let events = try await storage.log.read(
                    stream: DeliverProcessor.stream, from: from, limit: limit, maxBytes: maxBytes, bodies: true, partition: partitions > 1 ? partition : nil)
                return machine.read(events.map { Machine.ReadEvent(offset: $0.offset, item: $0, bytes: $0.body.readableBytes) }, now: now)
            } catch {
                logger.warning("reading events failed; retrying", metadata: ["error": "\(error)"])
                return machine.readFailed(now: now)
            }
        case .send(let dispatches):
            group.addTask {
                let (completion, throttled) = await self.deliver(dispatches.map(\.item))
                self.post.yield(.completed(dispatches.map(\.offset), completion, throttled: throttled))
            }
            return []
        case .commit(let offset):
            commit.yield(offset)
            return []
        case .publishHold(let holding):
            return machine.holdPublished(holding, succeeded: await publishHold(holding), now: now)
        case .finish:
            return []
        }
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

    /// Sends one request and says what the machine should do with its events, and whether
    /// the target throttled it.
    private func deliver(_ events: [StoredEvent]) async -> (Machine.Scheduler.Completion, throttled: Bool) {
        // A request chosen just before the lease ended is not sent: the new holder sends it.
        guard holdsLease else { return (.retry(retryAfter: nil), false) }
        let requestStarted = ContinuousClock.now
        let answer = await send(events)
        let outcome = answer.outcome
        metrics.recordAttempt(outcome, duration: ContinuousClock.now - requestStarted)
        switch outcome {
        case .delivered:
            metrics.delivered.increment(by: Int64(events.count))
            return (.delivered, false)
        case .throttled(let retryAfter):
            return (.retry(retryAfter: retryAfter), true)
        case .failed(_, let retryAfter):
            return (.retry(retryAfter: retryAfter), false)
        case .timedOut, .connectionFailed:
            return (.retry(retryAfter: nil), false)
        case .rejected, .unsendable:
            guard events.count == 1 else { return (.isolate, false) }
            return (await deadLetter(events[0], outcome: outcome, excerpt: answer.excerpt), false)
        }
    }

    /// Records a permanently rejected event (or one whose request could not be built, with
    /// status 0 and the reason) as a dead letter; retried when that fails.
    private func deadLetter(_ event: StoredEvent, outcome: DeliveryOutcome, excerpt: String) async -> Machine.Scheduler.Completion {
        let (status, response) = if case .rejected(let status) = outcome { (status, excerpt) } else { (0, "\(outcome)") }
        let failedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            try await storage.deadLetters.recordDeadLetters([DeadLetter(event: event, status: status, response: response, failedAtMs: failedAtMs)])
            metrics.deadLetters.increment()
            logger.warning("event dead-lettered", metadata: ["id": "\(event.id ?? "")", "status": "\(status)", "reason": "\(response)"])
            return .deadLettered
        } catch {
            logger.warning("recording a dead letter failed; retrying the event", metadata: ["error": "\(error)"])
            return .retry(retryAfter: nil)
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
