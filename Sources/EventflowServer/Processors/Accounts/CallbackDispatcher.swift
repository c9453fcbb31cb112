import EventflowCore
import EventflowLog
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Fires account callbacks when they are due, from the durable `accounts` table.
///
/// Every 20 ms (or once the previous round is done, when that takes longer) it asks the
/// table for pending callbacks whose time has come, POSTs each (the account as ingested,
/// `Idempotency-Key: <id>:<version>`; see ``CallbackClaims`` for the race with
/// cancellation) and records the fired ones in one commit. A callback whose row was
/// replaced by a newer version before it was due no longer exists: that is the
/// cancellation. After a crash, callbacks still pending fire as soon as the server is
/// back (late rather than never); one that fired but was not yet recorded fires again,
/// which the idempotency key makes harmless.
final class CallbackDispatcher: Service {
    private let state: any ProcessorStateStore
    private let coordination: any ProcessCoordination
    private let configuration: AccountsConfiguration
    private let metrics: AccountsMetrics
    private let logger: Logger
    private let claims: CallbackClaims
    /// Callback requests in flight at most.
    private let concurrency = 64

    struct Callback: Hashable, Sendable {
        var id: String
        var version: Int64
    }

    enum Signal: Sendable {
        case completed(Callback, DeliveryOutcome)
        case tick
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
    }

    private static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func run() async throws {
        while (try? await state.prepareState(AccountsStore.schema)) == nil {
            logger.warning("creating the accounts tables failed; retrying in 1 s")
            try await Task.sleep(for: .seconds(1))
        }
        let client = PeerClient(
            timeout: configuration.timeout, connectionsPerHost: concurrency, maxRetryAfter: configuration.retry.maxRetryAfter,
            retryAfterClamped: metrics.retryAfterClamped)
        let (signals, post) = AsyncStream.makeStream(of: Signal.self)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                let ticker = CoalescingTicker(every: .milliseconds(20))
                group.addTask { await ticker.run { post.yield(.tick) } }
                var inFlight: Set<Callback> = []
                var retries: [Callback: (failures: Int, notBeforeMs: Int64)] = [:]
                var settled: [(Callback, CallbackState)] = []
                var stopping = false
                var lastPendingCount = ContinuousClock.now - .seconds(1)
                for await signal in signals {
                    switch signal {
                    case .completed(let callback, let outcome):
                        inFlight.remove(callback)
                        switch outcome {
                        case .delivered:
                            retries[callback] = nil
                            settled.append((callback, .fired))
                        case .rejected, .unsendable:
                            retries[callback] = nil
                            settled.append((callback, .failed))
                            logger.warning("callback failed for good", metadata: ["id": "\(callback.id)", "version": "\(callback.version)", "outcome": "\(outcome)"])
                        case .throttled(let retryAfter), .failed(_, let retryAfter):
                            claims.release(callback)
                            retries[callback] = backoff(retries[callback]?.failures ?? 0, retryAfter: retryAfter)
                        case .timedOut, .connectionFailed:
                            claims.release(callback)
                            retries[callback] = backoff(retries[callback]?.failures ?? 0, retryAfter: nil)
                        }
                    case .tick:
                        ticker.taken()
                        if !settled.isEmpty {
                            await record(settled)
                            settled.removeAll()
                        }
                        // On a shared log, callbacks fire from the process that holds the accounts lease.
                        if !stopping, inFlight.count < concurrency, coordination.holdsLease(processor: AccountsStep.name, stream: AccountsStep.stream) {
                            let limit = concurrency + inFlight.count + retries.count
                            let dueNow = await due(limit: limit)
                            if let dueNow, dueNow.count < limit {
                                // Every due callback is in hand: a retry not among them is no
                                // longer pending (a newer version replaced it), so it is dropped.
                                let pending = Set(dueNow)
                                retries = retries.filter { pending.contains($0.key) || inFlight.contains($0.key) }
                            }
                            var chosen: [Callback] = []
                            for callback in dueNow ?? [] {
                                guard inFlight.count + chosen.count < concurrency, !inFlight.contains(callback) else { continue }
                                if let retry = retries[callback] {
                                    if retry.notBeforeMs > Self.nowMs { continue }
                                } else if retries.count + inFlight.count + chosen.count >= configuration.maxRetryingCallbacks {
                                    // A fresh one could fail and grow the retry table past its bound: it waits.
                                    continue
                                }
                                guard claims.claim(callback) else { continue }
                                chosen.append(callback)
                            }
                            let bodies = await self.bodies(of: chosen)
                            for callback in chosen {
                                guard let body = bodies[callback] else {
                                    // Replaced by a newer version since it was read: nothing to send.
                                    claims.release(callback)
                                    continue
                                }
                                inFlight.insert(callback)
                                group.addTask { post.yield(.completed(callback, await self.send(callback, body: body, client: client))) }
                            }
                        }
                        metrics.callbacksWaitingToRetry.set(Double(retries.count))
                        if ContinuousClock.now - lastPendingCount >= .seconds(1) {
                            lastPendingCount = ContinuousClock.now
                            await countPending()
                        }
                    case .stop:
                        stopping = true
                    }
                    if stopping, inFlight.isEmpty {
                        if !settled.isEmpty { await record(settled) }
                        break
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            post.yield(.stop)
        }
        try await client.shutdown()
    }

    private func backoff(_ failures: Int, retryAfter: Double?) -> (failures: Int, notBeforeMs: Int64) {
        let delay = configuration.retry.delay(afterFailures: failures + 1, random: Double.random(in: 0..<1), retryAfter: retryAfter)
        return (failures + 1, Self.nowMs + Duration.checkedSeconds(delay).milliseconds)
    }

    /// Pending callbacks whose time has come, soonest first, without their bodies (only those
    /// sent now are read, by `bodies(of:)`); nil when the table could not be read.
    private func due(limit: Int) async -> [Callback]? {
        do {
            return try await AccountsStore(state: state).dueCallbacks(at: Self.nowMs, limit: limit)
        } catch {
            logger.warning("reading due callbacks failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The bodies of the callbacks about to be sent that are still pending, by callback.
    private func bodies(of callbacks: [Callback]) async -> [Callback: String] {
        do {
            return try await AccountsStore(state: state).bodies(of: callbacks)
        } catch {
            logger.warning("reading callback bodies failed", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// Records fired and failed callbacks, unless the account moved on to a newer version meanwhile.
    private func record(_ settled: [(Callback, CallbackState)]) async {
        let statements = AccountsStore.settle(settled, at: Self.nowMs)
        do {
            try await state.commitState(StateCommit(processor: AccountsStep.name, stream: AccountsStep.stream, cursor: nil, statements: statements))
        } catch {
            logger.warning("recording fired callbacks failed; they will fire again", metadata: ["error": "\(error)"])
            for (callback, _) in settled { claims.release(callback) }
            return
        }
        for (callback, state) in settled {
            claims.settle(callback)
            if state == .fired {
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

    private func send(_ callback: Callback, body: String, client: PeerClient) async -> DeliveryOutcome {
        metrics.callbackAttempts.increment()
        return await client.postJSON(
            configuration.callbackURL, body: ByteBuffer(string: body), headers: [("Idempotency-Key", "\(callback.id):\(callback.version)")],
            timeout: configuration.timeout
        ).outcome
    }
}
