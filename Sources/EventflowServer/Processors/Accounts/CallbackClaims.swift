import EventflowCore
import Synchronization

/// Settles, in this process, the race between firing a callback and cancelling it.
///
/// The dispatcher claims a callback before sending it; the `accounts` step cancels the
/// pending callback of a version it replaces. Whichever comes first wins, under one
/// lock: a claimed callback can no longer be cancelled (it is in flight and counts as
/// fired), and a cancelled one is never sent, even if the dispatcher read it as due
/// before the replacement was committed. A callback settled (fired or failed) since the
/// step's last commit cannot be cancelled either: the step may have read its row as
/// pending just before the dispatcher recorded it.
final class CallbackClaims: Sendable {
    private struct State {
        var firing: Set<AccountCallback> = []
        var cancelled: Set<AccountCallback> = []
        var settledSinceStepCommit: Set<AccountCallback> = []
    }

    private let state = Mutex(State())

    /// Claims `callback` for sending; false when it was cancelled.
    func claim(_ callback: AccountCallback) -> Bool {
        state.withLock { state in
            guard !state.cancelled.contains(callback) else { return false }
            state.firing.insert(callback)
            return true
        }
    }

    /// Called once a claimed callback will be retried from the table.
    func release(_ callback: AccountCallback) {
        _ = state.withLock { $0.firing.remove(callback) }
    }

    /// Called once the outcome of a claimed callback (fired or failed) is committed.
    func settle(_ callback: AccountCallback) {
        state.withLock { state in
            state.firing.remove(callback)
            state.settledSinceStepCommit.insert(callback)
        }
    }

    /// Cancels `callback`; false when it is already in flight.
    func cancel(_ callback: AccountCallback) -> Bool {
        state.withLock { state in
            guard !state.firing.contains(callback), !state.settledSinceStepCommit.contains(callback) else { return false }
            state.cancelled.insert(callback)
            return true
        }
    }

    /// Called after the step committed, cancelling `cancelled`: the table no longer lists
    /// those callbacks, and the step reads every row afresh from now on.
    func stepCommitted(cancelling cancelled: some Sequence<AccountCallback>) {
        state.withLock { state in
            state.cancelled.subtract(cancelled)
            state.settledSinceStepCommit.removeAll()
        }
    }

    /// Called when the step starts over from the table.
    func stepRestarted() {
        state.withLock { state in
            state.cancelled.removeAll()
            state.settledSinceStepCommit.removeAll()
        }
    }
}
