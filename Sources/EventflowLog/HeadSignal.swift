import Synchronization

/// The heads of a log's streams as the log learns them, and the readers waiting for an
/// event past what they have read: a processor with nothing left to read sleeps until an
/// append commits (or another process's append is seen) instead of asking every few
/// milliseconds.
final class HeadSignal: Sendable {
    private struct Waiter {
        var stream: String
        var offset: Int64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var heads: [String: Int64]
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private let state: Mutex<State>

    init(heads: [String: Int64]) {
        state = Mutex(State(heads: heads))
    }

    /// The highest head of `stream` published (or given at start), 0 for none.
    func head(of stream: String) -> Int64 {
        state.withLock { $0.heads[stream] ?? 0 }
    }

    /// Records that `stream` holds every offset below `head` (a lower head than the one
    /// known changes nothing) and wakes those waiting for one of them.
    func publish(stream: String, head: Int64) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard head > state.heads[stream, default: 0] else { return [] }
            state.heads[stream] = head
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.stream == stream && waiter.offset < head {
                woken.append(waiter.continuation)
                state.waiters[id] = nil
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once `stream` holds the event at `offset`: at once when it does already,
    /// otherwise when a head past it is published or the task is cancelled.
    func wait(stream: String, forOffset offset: Int64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // Cancelled before it could register: the handler below found nothing to resume.
                    if state.heads[stream, default: 0] > offset || Task.isCancelled { return true }
                    state.waiters[id] = Waiter(stream: stream, offset: offset, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}
