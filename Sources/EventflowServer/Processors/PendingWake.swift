/// The one wait a signal loop has asked for besides its answers (a deadline, or the next
/// event of a stream), running as a task that posts to the loop when it ends. Asking for
/// another replaces it; asking for the same one again keeps it running.
///
/// Loops built on it sleep until something they need happens instead of waking at an
/// interval to look.
struct PendingWake<Target: Equatable & Sendable> {
    private var target: Target?
    private var task: Task<Void, Never>?

    /// Starts `wait` for `target` (nil: no wait), cancelling the wait in progress unless it
    /// is for the same target. `wait` posts to the loop when it ends, unless cancelled.
    mutating func set(_ target: Target?, wait: @escaping @Sendable (Target) async -> Void) {
        guard target != self.target else { return }
        task?.cancel()
        self.target = target
        task = target.map { target in Task { await wait(target) } }
    }

    /// Called when the loop takes the wait's post, so that the next ``set(_:wait:)`` starts
    /// a new one even for the same target.
    mutating func ended() {
        target = nil
        task = nil
    }

    /// Cancels the wait in progress; called when the loop ends.
    mutating func cancel() {
        task?.cancel()
        ended()
    }
}
