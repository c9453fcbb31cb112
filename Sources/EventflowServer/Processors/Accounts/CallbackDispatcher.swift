import EventflowCore
import EventflowLog
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Fires account callbacks when they are due, from the durable `accounts` table.
///
/// The rules live in a ``CallbackFiring`` machine; this is its executor. It reads the
/// pending callbacks whose time has come, POSTs each (the account as ingested,
/// `Idempotency-Key: <id>:<version>`; see ``CallbackClaims`` for the race with
/// cancellation) and records the settled ones in one commit. It sleeps until the machine's
/// next deadline, an answer, or news from the `accounts` step that it scheduled a callback
/// (``scheduled(dueAtMs:)``). A callback whose row was replaced by a newer version before it
/// was due no longer exists: that is the cancellation. After a crash, callbacks still
/// pending fire as soon as the server is back (late rather than never); one that fired but
/// was not yet recorded fires again, which the idempotency key makes harmless.
final class CallbackDispatcher: Service {
    private let state: any ProcessorStateStore
    private let coordination: any ProcessCoordination
    private let configuration: AccountsConfiguration
    private let metrics: AccountsMetrics
    private let logger: Logger
    private let claims: CallbackClaims
    private let signals: AsyncStream<Signal>
    private let post: AsyncStream<Signal>.Continuation
    /// Callback requests in flight at most.
    private let concurrency = 64

    enum Signal: Sendable {
        case completed(AccountCallback, DeliveryOutcome)
        case scheduled(dueAtMs: Int64)
        case deadline
        case stop
    }

    init(
        state: any ProcessorStateStore, coordination: any ProcessCoordination, configuration: AccountsConfiguration, metrics: AccountsMetrics, claims: CallbackClaims, logger: Logger) {
        self.state = state
        self.coordination = coordination
        self.claims = claims
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        (signals, post) = AsyncStream.makeStream(of: Signal.self)
    }

    private static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Tells the dispatcher that the `accounts` step committed callbacks, the soonest due at `dueAtMs`.
    func scheduled(dueAtMs: Int64) {
        post.yield(.scheduled(dueAtMs: dueAtMs))
    }

    /// On a shared log, callbacks fire from the process that holds the accounts lease.
    private var holdsLease: Bool { coordination.holdsLease(processor: AccountsStep.name, stream: AccountsStep.stream) }

    func run() async throws {
        while (try? await state.prepareState(AccountsStore.schema)) == nil {
            logger.warning("creating the accounts tables failed; retrying in 1 s")
            try await Task.sleep(for: .seconds(1))
        }
        let client = PeerClient(
            timeout: configuration.timeout, connectionsPerHost: concurrency, maxRetryAfter: configuration.retry.maxRetryAfter,
            retryAfterClamped: metrics.retryAfterClamped)
        var machine = CallbackFiring(configuration: .init(concurrency: concurrency, maxRetrying: configuration.maxRetryingCallbacks, retry: configuration.retry))
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var wake = PendingWake<Int64>()
                var signals = signals.makeAsyncIterator()
                var lastPendingCount: ContinuousClock.Instant?
                var actions = machine.deadlinePassed(nowMs: Self.nowMs, holdsLease: holdsLease)
                while true {
                    while !actions.isEmpty {
                        actions += await perform(actions.removeFirst(), on: &machine, group: &group, client: client)
                    }
                    metrics.callbacksWaitingToRetry.set(Double(machine.retrying))
                    if machine.isFinished { break }
                    if lastPendingCount.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true {
                        lastPendingCount = ContinuousClock.now
                        await countPending()
                    }
                    wake.set(machine.wakeAtMs) { wakeAtMs in
                        let nowMs = Self.nowMs
                        if wakeAtMs > nowMs { try? await Task.sleep(for: .milliseconds(wakeAtMs - nowMs)) }
                        if !Task.isCancelled { self.post.yield(.deadline) }
                    }
                    guard let signal = await signals.next() else { break }
                    switch signal {
                    case .completed(let callback, let outcome):
                        actions = machine.completed(callback, outcome, nowMs: Self.nowMs, random: Double.random(in: 0..<1))
                    case .scheduled(let dueAtMs):
                        actions = machine.scheduled(dueAtMs: dueAtMs, nowMs: Self.nowMs)
                    case .deadline:
                        wake.ended()
                        actions = machine.deadlinePassed(nowMs: Self.nowMs, holdsLease: holdsLease)
                    case .stop:
                        actions = machine.stop(nowMs: Self.nowMs)
                    }
                }
                wake.cancel()
            }
        } onGracefulShutdown: {
            self.post.yield(.stop)
        }
        try await client.shutdown()
    }

    /// Performs one of the machine's actions; returns what the machine makes of its result
    /// when it has one at once.
    private func perform(
        _ action: CallbackFiring.Action, on machine: inout CallbackFiring, group: inout DiscardingTaskGroup, client: PeerClient
    ) async -> [CallbackFiring.Action] {
        switch action {
        case .readDue(let limit):
            let nowMs = Self.nowMs
            let (due, next) = await due(at: nowMs, limit: limit)
            return machine.dueRead(due, limit: limit, nextDueMs: next, nowMs: Self.nowMs)
        case .send(let callbacks):
            let claimed = callbacks.filter { claims.claim($0) }
            let bodies = await bodies(of: claimed)
            var skipped: [CallbackFiring.Action] = []
            for callback in callbacks {
                guard claimed.contains(callback), let body = bodies[callback] else {
                    // Cancelled, or replaced by a newer version since it was read: nothing to send.
                    if claimed.contains(callback) { claims.release(callback) }
                    skipped += machine.skipped(callback, nowMs: Self.nowMs)
                    continue
                }
                group.addTask { self.post.yield(.completed(callback, await self.send(callback, body: body, client: client))) }
            }
            return skipped
        case .release(let callback):
            claims.release(callback)
            return []
        case .record(let settled):
            await record(settled)
            return []
        case .finish:
            return []
        }
    }

    /// Pending callbacks due at `nowMs`, soonest first, without their bodies (only those sent
    /// are read, by `bodies(of:)`), and when the next pending one after `nowMs` is due; nil
    /// callbacks when the table could not be read.
    private func due(at nowMs: Int64, limit: Int) async -> ([AccountCallback]?, Int64?) {
        do {
            let store = AccountsStore(state: state)
            return (try await store.dueCallbacks(at: nowMs, limit: limit), try await store.nextCallbackDue(after: nowMs))
        } catch {
            logger.warning("reading due callbacks failed", metadata: ["error": "\(error)"])
            return (nil, nil)
        }
    }

    /// The bodies of the callbacks about to be sent that are still pending, by callback.
    private func bodies(of callbacks: [AccountCallback]) async -> [AccountCallback: String] {
        do {
            return try await AccountsStore(state: state).bodies(of: callbacks)
        } catch {
            logger.warning("reading callback bodies failed", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// Records fired and failed callbacks, unless the account moved on to a newer version meanwhile.
    private func record(_ settled: [CallbackFiring.Settled]) async {
        let statements = AccountsStore.settle(settled, at: Self.nowMs)
        do {
            try await state.commitState(StateCommit(processor: AccountsStep.name, stream: AccountsStep.stream, cursor: nil, statements: statements))
        } catch {
            logger.warning("recording fired callbacks failed; they will fire again", metadata: ["error": "\(error)"])
            for settled in settled { claims.release(settled.callback) }
            return
        }
        for settled in settled {
            let callback = settled.callback
            claims.settle(callback)
            if settled.state == .fired {
                metrics.callbacksFired.increment()
                configuration.observer?(.callbackFired(id: callback.id, version: callback.version))
            } else {
                metrics.callbacksFailed.increment()
                configuration.observer?(.callbackFailed(id: callback.id, version: callback.version))
            }
        }
    }

    private func countPending() async {
        guard let pending = try? await AccountsStore(state: state).pendingCallbacks() else { return }
        metrics.callbacksPending.set(Double(pending))
    }

    private func send(_ callback: AccountCallback, body: String, client: PeerClient) async -> DeliveryOutcome {
        metrics.callbackAttempts.increment()
        return await client.postJSON(
            configuration.callbackURL, body: ByteBuffer(string: body), headers: [("Idempotency-Key", callback.idempotencyKey)],
            timeout: configuration.timeout
        ).outcome
    }
}
