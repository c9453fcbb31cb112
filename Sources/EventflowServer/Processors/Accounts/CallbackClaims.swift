import Synchronization

/// Settles, in this process, the race between firing a callback and cancelling it.
///
/// The dispatcher claims a callback before sending it; the `accounts` step cancels the
/// pending callback of a version it replaces. Whichever comes first wins, under one
/// lock: a claimed callback can no longer be cancelled (it is in flight and counts as
/// fired), and a cancelled one is never sent, even if the dispatcher read it as due
/// before the replacement was committed.
final class CallbackClaims: Sendable {
    private struct State {
        var firing: Set<CallbackDispatcher.Callback> = []
        var cancelled: Set<CallbackDispatcher.Callback> = []
    }

    private let state = Mutex(State())

    /// Claims `callback` for sending; false when it was cancelled.
    func claim(_ callback: CallbackDispatcher.Callback) -> Bool {
        state.withLock { state in
            guard !state.cancelled.contains(callback) else { return false }
            state.firing.insert(callback)
            return true
        }
    }

    /// Called once the outcome of a claimed callback is recorded (or it will be retried from the table).
    func release(_ callback: CallbackDispatcher.Callback) {
        _ = state.withLock { $0.firing.remove(callback) }
    }

    /// Cancels `callback`; false when it is already in flight.
    func cancel(_ callback: CallbackDispatcher.Callback) -> Bool {
        state.withLock { state in
            guard !state.firing.contains(callback) else { return false }
            state.cancelled.insert(callback)
            return true
        }
    }

    /// Forgets cancellations once the replacing versions are committed (the table no
    /// longer lists those callbacks), or when the step starts over from the table.
    func forgetCancelled(_ callbacks: some Sequence<CallbackDispatcher.Callback>) {
        state.withLock { $0.cancelled.subtract(callbacks) }
    }

    func forgetAllCancelled() {
        state.withLock { $0.cancelled.removeAll() }
    }
}
