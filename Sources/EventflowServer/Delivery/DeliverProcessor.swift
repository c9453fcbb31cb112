import AsyncHTTPClient
import EventflowCore
import EventflowLog
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The `deliver` processor: sends every event of stream `events` to the target, under
/// the target's rate limit, retrying until it is accepted or permanently rejected.
///
/// One loop owns the ``DeliveryScheduler``; requests run as child tasks and report
/// back through a mailbox, as do a 20 ms ticker (for due retries and new events) and
/// graceful shutdown. The cursor only moves past events delivered or dead-lettered; a
/// committer task commits the newest such offset as fast as group commit allows, so
/// after a crash only events in flight, waiting to retry, or delivered during the last
/// commit are sent again.
///
/// On a shared log it delivers only while it holds the stream's lease, so one process at
/// a time sends: the target's rate limit and the ordering window hold across processes.
/// A process that loses its lease stops sending, lets its requests in flight finish, and
/// stands by.
final class DeliverProcessor: Service {
    static let name = "deliver"
    static let stream = "events"

    private let log: any EventLog
    private let configuration: DeliveryConfiguration
    private let metrics: DeliveryMetrics
    private let logger: Logger
    private let client: HTTPClient
    /// nil inside when the target has no known limit.
    private let limiter: Mutex<AdaptiveRateLimiter?>
    private let enricher: JSONEnricher
    private let started = ContinuousClock.now
    private let stopping = Atomic<Bool>(false)
    /// The mailbox of the session delivering now, to tell it to drain on shutdown.
    private let session = Mutex<AsyncStream<Signal>.Continuation?>(nil)

    typealias Scheduler = DeliveryScheduler<StoredEvent>

    enum Signal: Sendable {
        case completed([Int64], Scheduler.Completion)
        case tick
        case drain
    }

    init(log: any EventLog, configuration: DeliveryConfiguration, metrics: DeliveryMetrics, logger: Logger) {
        self.log = log
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.concurrency)
        clientConfiguration.timeout = .init(connect: .seconds(2))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        limiter = Mutex(configuration.targetRate.map { AdaptiveRateLimiter(rate: $0, burst: configuration.targetBurst ?? max(1, $0), now: 0) })
        enricher = JSONEnricher(strings: configuration.enrichment)
    }

    /// Seconds since the processor started, on the monotonic clock.
    private var now: Double { (ContinuousClock.now - started).seconds }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !stopping.load(ordering: .relaxed) {
                do {
                    if try await log.acquireLease(processor: Self.name, stream: Self.stream) {
                        try await deliverWhileLeaseHeld()
                        continue
                    }
                } catch {
                    logger.warning("deliver could not start; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            _ = self.session.withLock { $0?.yield(.drain) }
        }
        await log.releaseLease(processor: Self.name, stream: Self.stream)
        try await client.shutdown()
    }

    /// Delivers from the committed cursor until shutdown or until another process takes the lease.
    private func deliverWhileLeaseHeld() async throws {
        let (mailbox, post) = AsyncStream.makeStream(of: Signal.self)
        let (committable, commitNewest) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let committer = Task {
            for await offset in committable { await commit(offset) }
        }
        let cursor = try await log.cursor(processor: Self.name, stream: Self.stream)
        try await log.commitCursor(processor: Self.name, stream: Self.stream, to: cursor)
        var scheduler = Scheduler(
            configuration: .init(
                concurrency: configuration.concurrency, batchSize: configuration.batchSize, orderingWindow: configuration.orderingWindow,
                retry: configuration.retry),
            startingAt: cursor)
        logger.info("deliver started", metadata: ["target": "\(configuration.targetURL)", "cursor": "\(cursor)"])
        session.withLock { $0 = post }
        if stopping.load(ordering: .relaxed) { post.yield(.drain) }

        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(20))
                    post.yield(.tick)
                }
            }
            var draining = false
            var committed = cursor
            for await signal in mailbox {
                switch signal {
                case .completed(let offsets, let completion):
                    scheduler.complete(offsets, completion, now: now, random: Double.random(in: 0..<1))
                case .tick:
                    if !draining, !holdsLease {
                        logger.warning("deliver lost its lease to another process; finishing requests in flight and standing by")
                        draining = true
                    }
                case .drain:
                    draining = true
                }
                if !draining {
                    await readAhead(into: &scheduler)
                    dispatch(&scheduler, group: &group, post: post)
                }
                metrics.headBlocked.set(scheduler.headBlockedSeconds(now: now))
                metrics.inFlight.set(Double(scheduler.requestsInFlight))
                metrics.rateLimit.set(limiter.withLock { $0?.currentRate ?? 0 })
                if scheduler.committableOffset > committed {
                    committed = scheduler.committableOffset
                    commitNewest.yield(committed)
                }
                if draining, scheduler.requestsInFlight == 0 { break }
            }
            group.cancelAll()
        }
        session.withLock { $0 = nil }
        commitNewest.finish()
        await committer.value
        logger.info("deliver stopped", metadata: ["cursor": "\(scheduler.committableOffset)"])
    }

    private var holdsLease: Bool { log.holdsLease(processor: Self.name, stream: Self.stream) }

    /// Reads the next events of the stream into the scheduler, up to the read-ahead limit.
    private func readAhead(into scheduler: inout Scheduler) async {
        let room = configuration.readAhead - scheduler.outstanding
        guard room > 0, scheduler.nextOffset < log.headOffset(stream: Self.stream) else { return }
        do {
            for event in try await log.read(stream: Self.stream, from: scheduler.nextOffset, limit: min(room, 1_000)) {
                scheduler.add(offset: event.offset, item: event)
            }
        } catch {
            logger.warning("reading events failed; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func dispatch(_ scheduler: inout Scheduler, group: inout DiscardingTaskGroup, post: AsyncStream<Signal>.Continuation) {
        while case .send(let dispatches) = scheduler.next(now: now) {
            group.addTask {
                let completion = await self.deliver(dispatches)
                post.yield(.completed(dispatches.map(\.offset), completion))
            }
        }
    }

    /// Commits the cursor, retrying until it sticks (or the log is shutting down).
    private func commit(_ offset: Int64) async {
        while true {
            do {
                try await log.commitCursor(processor: Self.name, stream: Self.stream, to: offset)
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
        let (outcome, excerpt) = await send(events)
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
        case .rejected(let status):
            guard events.count == 1 else { return .isolate }
            let failedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
            do {
                try await log.recordDeadLetters(events.map { DeadLetter(event: $0, status: status, response: excerpt, failedAtMs: failedAtMs) })
                metrics.deadLetters.increment()
                logger.warning("event dead-lettered", metadata: ["id": "\(events[0].id ?? "")", "status": "\(status)"])
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
            try? await Task.sleep(for: .seconds(seconds))
        }
    }

    /// POSTs the enriched events; returns the outcome and the start of the answer.
    private func send(_ events: [StoredEvent]) async -> (DeliveryOutcome, String) {
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
