import EventflowCore
import EventflowLog
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a ``ProcessorStep`` as a service: reads its stream from the cursor, applies the
/// events, and commits state and cursor together by batch size or time.
///
/// At most ``BatchFlushPolicy/maxEvents`` events and ``BatchFlushPolicy/maxBytes`` of their
/// bodies (16 MiB) are held uncommitted; the rest waits
/// in the durable log, which is the back pressure. On graceful shutdown it commits what
/// it holds and stops; on a failure it starts over from the last commit after a second.
/// On a shared log it processes only while it holds the stream's lease and stands by otherwise.
final class ProcessorRunner<Step: ProcessorStep>: Service {
    private let log: any EventLog
    private let state: any ProcessorStateStore
    private let coordination: any ProcessCoordination
    private let policy: BatchFlushPolicy
    private let metrics: ProcessorMetrics
    private let logger: Logger
    private let makeStep: @Sendable () -> Step
    private let stopping = Atomic<Bool>(false)
    /// Events read per query when catching up.
    private let readChunk = 2000

    init(
        log: any EventLog, state: any ProcessorStateStore, coordination: any ProcessCoordination, policy: BatchFlushPolicy, metrics: ProcessorMetrics, logger: Logger, makeStep: @escaping @Sendable () -> Step) {
        self.log = log
        self.state = state
        self.coordination = coordination
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
        self.makeStep = makeStep
    }

    func run() async throws {
        let (name, stream) = { let step = makeStep(); return (step.name, step.stream) }()
        await withGracefulShutdownHandler {
            while !isStopping {
                do {
                    guard try await coordination.acquireLease(processor: name, stream: stream) else {
                        try? await Task.sleep(for: .milliseconds(500))
                        continue
                    }
                    try await process()
                } catch EventLogError.leaseLost {
                    logger.warning("processor lost its lease to another process; standing by", metadata: ["processor": "\(name)"])
                } catch {
                    guard !isStopping else { break }
                    metrics.restarts.increment()
                    logger.error("processor failed; restarting from its last commit in 1 s", metadata: ["processor": "\(name)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        await coordination.releaseLease(processor: name, stream: stream)
        logger.info("processor stopped", metadata: ["processor": "\(name)"])
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    private func process() async throws {
        var step = makeStep()
        try await state.prepareState(step.schema)
        try await step.recover(from: state)
        var next = try await state.cursor(processor: step.name, stream: step.stream)
        var batch = policy
        let clock = ContinuousClock()
        let started = clock.now
        func now() -> Double { (clock.now - started).seconds }
        logger.info("processor started", metadata: ["processor": "\(step.name)", "stream": "\(step.stream)", "cursor": "\(next)"])

        while true {
            guard coordination.holdsLease(processor: step.name, stream: step.stream) else {
                throw EventLogError.leaseLost(processor: step.name, stream: step.stream)
            }
            let stopping = isStopping
            var read = 0
            if !stopping, batch.room > 0, next < log.headOffset(stream: step.stream) {
                let events: [StoredEvent]
                do {
                    events = try await log.read(
                        stream: step.stream, from: next, limit: min(batch.room, readChunk), maxBytes: batch.byteRoom, bodies: step.readsBodies)
                } catch EventLogError.deleted(_, let firstRetained) {
                    // Only a processor that starts after retention deleted its stream's oldest
                    // events gets here (retention never passes a cursor): it goes on from the
                    // first event kept, and counts what it never saw.
                    logger.warning(
                        "the events before this processor's cursor were deleted by retention; going on from the first one kept",
                        metadata: ["processor": "\(step.name)", "cursor": "\(next)", "first_retained": "\(firstRetained)"])
                    metrics.deletedUnprocessed.increment(by: firstRetained - next)
                    next = firstRetained
                    continue
                }
                try await step.apply(events, state: state)
                read = events.count
                next += Int64(read)
                batch.read(read, bytes: events.reduce(0) { $0 + $1.body.readableBytes }, now: now())
            }
            if batch.shouldFlush(now: now()) || (stopping && batch.pending > 0) {
                let commitStarted = clock.now
                let statements = step.flush(cursor: next)
                try await state.commitState(StateCommit(processor: step.name, stream: step.stream, cursor: next, statements: statements))
                metrics.commitDuration.record(clock.now - commitStarted)
                metrics.events.increment(by: Int64(batch.pending))
                batch.flushed()
                step.didCommit()
            }
            if stopping { return }
            if read == 0 {
                let untilFlush = batch.deadline.map { max(0, $0 - now()) }
                if next < log.headOffset(stream: step.stream) {
                    // The head moved past what the read saw (a reader's snapshot a moment
                    // behind the published head): look again shortly.
                    try? await Task.sleep(for: .milliseconds(1))
                } else {
                    await idle(untilEventAt: next, in: step.stream, orAfter: min(untilFlush ?? Self.longestIdle, Self.longestIdle))
                }
            }
        }
    }

    /// The longest an idle runner sleeps: it then checks its lease again.
    static var longestIdle: Double { 1 }

    /// Sleeps until the stream holds the event at `offset`, `seconds` have passed (the
    /// batch is due, or the lease is to be checked again) or graceful shutdown begins.
    private func idle(untilEventAt offset: Int64, in stream: String, orAfter seconds: Double) async {
        guard seconds > 0 else { return }
        let log = log
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await log.waitForEvent(in: stream, at: offset) }
                group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
