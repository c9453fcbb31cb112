import Synchronization
import Testing

@testable import EventflowServer

@Suite(.timeLimit(.minutes(1))) struct PendingWakeTests {
    /// Asking for another wait cancels the one in progress (its post says it was
    /// cancelled, and it would otherwise sleep an hour); asking again for the wait in
    /// progress keeps it rather than starting a second.
    @Test func anotherWaitReplacesTheOneInProgress() async {
        let (posts, post) = AsyncStream.makeStream(of: Int.self)
        let (gates, open) = AsyncStream.makeStream(of: Void.self)
        let started = Atomic<Int>(0)
        var wake = PendingWake<Int>()
        let wait: @Sendable (Int) async -> Void = { target in
            started.add(1, ordering: .relaxed)
            if target == 1 {
                try? await Task.sleep(for: .seconds(3600))
            } else {
                for await _ in gates { break }
            }
            post.yield(Task.isCancelled ? -target : target)
        }
        wake.set(1, wait: wait)
        wake.set(1, wait: wait)
        wake.set(2, wait: wait)
        open.yield()
        var seen: [Int] = []
        for await value in posts {
            seen.append(value)
            if seen.contains(2), seen.contains(-1) { break }
        }
        #expect(seen.sorted() == [-1, 2])
        #expect(started.load(ordering: .relaxed) == 2)
        wake.ended()
        wake.cancel()
    }
}
