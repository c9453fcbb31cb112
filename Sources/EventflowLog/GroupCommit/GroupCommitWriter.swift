import EventflowCore
import Foundation
import Logging
import Synchronization

/// A log's single writer, shared by every backend: the group-commit layer over a
/// ``GroupCommitStorage``.
///
/// Callers queue writes and wait; the writer task takes every write waiting when a
/// transaction starts (up to the batch limits), plans it (``BatchPlan``), has the storage
/// commit it, and resumes each caller with its own result. Appends beyond the pending
/// limits are refused at once, which the collector answers with `503 Retry-After`; small
/// control writes always get in. Writes name only the log's streams.
final class GroupCommitWriter: Sendable {
    let streams: [String]
    private let limits: GroupCommitLimits
    private let maxCommitDelay: Duration
    private let onCommit: @Sendable (CommitStats) -> Void
    private let logger: Logger
    private let failureReport = Mutex(RepeatedFailureReport())
    private let state: Mutex<State>

    private struct State {
        var queue: GroupCommitQueue<PendingWrite>
        var writerWaiting: CheckedContinuation<Void, Never>?
        var closing = false
        var writable = true
        var lastError: String?

        mutating func takeWaitingWriter() -> CheckedContinuation<Void, Never>? {
            defer { writerWaiting = nil }
            return writerWaiting
        }
    }

    init(streams: [String], limits: GroupCommitLimits, maxCommitDelay: Duration, onCommit: @escaping @Sendable (CommitStats) -> Void, logger: Logger) {
        self.streams = streams
        self.limits = limits
        self.maxCommitDelay = maxCommitDelay
        self.onCommit = onCommit
        self.logger = logger
        self.state = Mutex(State(queue: GroupCommitQueue(limits: limits)))
    }

    // MARK: - Writes

    /// Queues an append and waits for its commit.
    func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult {
        guard streams.contains(stream) else { throw .unknownStream(stream) }
        let bytes = records.reduce(0) { $0 + $1.body.readableBytes }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<AppendResult, EventLogError>, Never>) in
            let outcome = state.withLock { state -> (refusal: EventLogError?, wake: CheckedContinuation<Void, Never>?) in
                guard !state.closing else { return (.shuttingDown, nil) }
                guard state.queue.admit(.append(stream: stream, records: records, continuation), events: records.count, bytes: bytes) else {
                    return (.overloaded(retryAfterSeconds: 1), nil)
                }
                return (nil, state.takeWaitingWriter())
            }
            if let refusal = outcome.refusal { continuation.resume(returning: .failure(refusal)) }
            outcome.wake?.resume()
        }
        return try result.get()
    }

    /// Moves a processor's cursor.
    func commitCursor(processor: String, stream: String, to offset: Int64) async throws {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        try await control { .cursor(CursorKey(processor: processor, stream: stream), offset: offset, $0) }
    }

    func recordDeadLetters(_ letters: [DeadLetter]) async throws {
        try await control { .deadLetters(letters, $0) }
    }

    func replayDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        guard streams.contains(selection.stream) else { throw EventLogError.unknownStream(selection.stream) }
        return try await control { .replay(selection, $0) }
    }

    /// Deletes a stream's oldest batches below `offset` (see ``LogRetention/deleteEvents(stream:below:)``).
    func deleteEvents(stream: String, below offset: Int64) async throws -> Int {
        guard streams.contains(stream) else { throw EventLogError.unknownStream(stream) }
        return try await control { .deleteEvents(stream: stream, below: offset, $0) }
    }

    /// Commits a processor's state change with its cursor.
    func commitState(_ commit: StateCommit) async throws {
        guard streams.contains(commit.stream) else { throw EventLogError.unknownStream(commit.stream) }
        try await control { .state(commit, $0) }
    }

    /// Runs a processor's schema statements in the writer's transaction (a storage whose
    /// schema changes must not race its commits: SQLite has one writer).
    func applySchema(_ schema: [String]) async throws {
        let change = StateCommit(processor: "", stream: "", cursor: nil, statements: schema.map { StateStatement($0) })
        try await control { .state(change, $0) }
    }

    /// Queues a small write for the next group commit, bypassing the pending limits, and waits for it.
    private func control<Value: Sendable>(_ write: (CheckedContinuation<Result<Value, EventLogError>, Never>) -> PendingWrite) async throws -> Value {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, EventLogError>, Never>) in
            let outcome = state.withLock { state -> (refusal: EventLogError?, wake: CheckedContinuation<Void, Never>?) in
                guard !state.closing else { return (.shuttingDown, nil) }
                _ = state.queue.admit(write(continuation), events: 0, bytes: 0, bypassingLimits: true)
                return (nil, state.takeWaitingWriter())
            }
            if let refusal = outcome.refusal { continuation.resume(returning: .failure(refusal)) }
            outcome.wake?.resume()
        }
        return try result.get()
    }

    var health: LogHealth {
        state.withLock { LogHealth(writable: $0.writable, saturation: $0.queue.saturation, lastError: $0.lastError) }
    }

    var isClosing: Bool { state.withLock { $0.closing } }

    /// Refuses new writes from now on; the writer commits what is queued, then ``nextWork()`` returns nil.
    func beginClosing() {
        let waiting = state.withLock { state in
            state.closing = true
            return state.takeWaitingWriter()
        }
        waiting?.resume()
    }

    // MARK: - The writer task

    /// Commits batches into `storage` until closing and everything queued is committed
    /// (a probe now and then while the storage does not take writes).
    func writeUntilClosed(to storage: some GroupCommitStorage) async {
        while let work = await nextWork() {
            switch work {
            case .commit(let batch): await commit(batch, to: storage)
            case .probe:
                // A transaction like any other: counted with the commits (none of a caller's writes in it).
                let started = ContinuousClock.now
                var failure: EventLogError?
                do throws(EventLogError) { try await storage.probe() } catch { failure = error }
                recordCommit(failure: failure, started: started, requests: 0, events: 0)
            }
        }
    }

    private func commit(_ batch: [PendingWrite], to storage: some GroupCommitStorage) async {
        let started = ContinuousClock.now
        let plan = BatchPlan(batch.map(\.request), acceptedAtMs: Int64(Date().timeIntervalSince1970 * 1000))
        var outcome = BatchOutcome()
        var failure: EventLogError?
        do throws(EventLogError) {
            outcome = plan.outcome(of: try await storage.commit(plan))
        } catch {
            failure = error
        }
        recordCommit(failure: failure, started: started, requests: batch.count, events: plan.events)
        batch.resume(failure: failure, outcome: outcome)
    }

    /// Records whether the transaction that began at `started` succeeded, for ``health``,
    /// logs a failure (or the recovery after failures) as ``RepeatedFailureReport`` decides,
    /// and reports its figures.
    private func recordCommit(failure: EventLogError?, started: ContinuousClock.Instant, requests: Int, events: Int) {
        state.withLock { state in
            state.writable = failure == nil
            state.lastError = failure?.description
        }
        logger.logGroupCommit(failure: failure, events: events, report: failureReport)
        onCommit(CommitStats(durationSeconds: (ContinuousClock.now - started).seconds, requests: requests, events: events, succeeded: failure == nil))
    }

    /// What the writer task does next.
    private enum Work {
        /// Commit these writes in one transaction.
        case commit([PendingWrite])
        /// The last commit failed and nothing came for a while: try a small write, so that
        /// readiness comes back by itself when the storage does (a load balancer sends no
        /// traffic to an unready collector, so no client commit would ever find out).
        case probe
    }

    /// Waits for work; nil once closing and everything queued was handed out. While the
    /// log is not writable, an idle wait ends after `probeInterval` with ``Work/probe``.
    private func nextWork(probeInterval: Duration = .seconds(1)) async -> Work? {
        while true {
            let (batch, closing, writable) = state.withLock { state in
                state.queue.isEmpty ? ([], state.closing, state.writable) : (state.queue.takeBatch(), false, state.writable)
            }
            if !batch.isEmpty {
                return .commit(await withLinger(batch))
            }
            if closing { return nil }
            let timer = writable ? nil : Task { [weak self] in
                try? await Task.sleep(for: probeInterval)
                self?.state.withLock { $0.takeWaitingWriter() }?.resume()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if !state.queue.isEmpty || state.closing { return true }
                    state.writerWaiting = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            timer?.cancel()
            if timer != nil, state.withLock({ $0.queue.isEmpty && !$0.closing && !$0.writable }) { return .probe }
        }
    }

    /// Waits up to the configured delay for more requests when the batch is below its size limit.
    private func withLinger(_ batch: [PendingWrite]) async -> [PendingWrite] {
        guard maxCommitDelay > .zero else { return batch }
        let events = batch.reduce(0) { $0 + $1.eventCount }
        guard events < limits.maxBatchEvents else { return batch }
        try? await Task.sleep(for: maxCommitDelay)
        var more = state.withLock { $0.queue.isEmpty ? [] : $0.queue.takeBatch() }
        more.insert(contentsOf: batch, at: 0)
        return more
    }
}
