import EventflowCore
import Synchronization

/// The admission and batching half of a log's single writer, shared by every backend.
///
/// Callers queue writes and wait; the writer task takes every write waiting when a
/// transaction starts (up to the batch limits) and resumes each caller after the commit.
/// Appends beyond the pending limits are refused at once, which the collector answers
/// with `503 Retry-After`; small control writes always get in.
final class GroupCommitWriter: Sendable {
    private let limits: GroupCommitLimits
    private let maxCommitDelay: Duration
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

    init(limits: GroupCommitLimits, maxCommitDelay: Duration) {
        self.limits = limits
        self.maxCommitDelay = maxCommitDelay
        self.state = Mutex(State(queue: GroupCommitQueue(limits: limits)))
    }

    /// Queues an append and waits for its commit.
    func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult {
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

    /// Queues a small write for the next group commit, bypassing the pending limits, and waits for it.
    func control<Value: Sendable>(_ write: (CheckedContinuation<Result<Value, EventLogError>, Never>) -> PendingWrite) async throws -> Value {
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

    /// Records whether the last commit succeeded, for ``health``.
    func recordCommit(failure: EventLogError?) {
        state.withLock { state in
            state.writable = failure == nil
            state.lastError = failure?.description
        }
    }

    /// What the writer task does next.
    enum Work {
        /// Commit these writes in one transaction.
        case commit([PendingWrite])
        /// The last commit failed and nothing came for a while: try a small write, so that
        /// readiness comes back by itself when the storage does (a load balancer sends no
        /// traffic to an unready collector, so no client commit would ever find out).
        case probe
    }

    /// Waits for work; nil once closing and everything queued was handed out. While the
    /// log is not writable, an idle wait ends after `probeInterval` with ``Work/probe``.
    func nextWork(probeInterval: Duration = .seconds(1)) async -> Work? {
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
