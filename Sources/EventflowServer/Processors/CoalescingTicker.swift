import Synchronization

/// Wakes a signal loop at an interval, with at most one wake-up waiting at a time.
///
/// A loop that handles its ticks more slowly than they come (a slow database, a busy
/// machine) would otherwise find thousands of them queued in its signal stream, in front
/// of the completions it should act on, and the queue would grow without bound. Here a tick
/// is posted only when the loop has taken the previous one (``taken()``).
final class CoalescingTicker: Sendable {
    private let waiting = Atomic<Bool>(false)
    private let interval: Duration

    init(every interval: Duration) {
        self.interval = interval
    }

    /// Posts ticks through `post` until the task is cancelled.
    func run(_ post: @Sendable () -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if !waiting.exchange(true, ordering: .acquiringAndReleasing) { post() }
        }
    }

    /// Called by the loop as it takes a tick, so that the next one may be posted.
    func taken() {
        waiting.store(false, ordering: .releasing)
    }
}
