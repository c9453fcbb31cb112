import Testing

@testable import EventflowServer

@Suite(.timeLimit(.minutes(1))) struct PendingWakeTests {
    /// Asking again for the wait in progress keeps it; asking for another cancels it, so
    /// only the last one asked for posts.
    @Test func onlyTheLastWaitAskedForPosts() async {
        let (posts, post) = AsyncStream.makeStream(of: Int.self)
        let (gates, open) = AsyncStream.makeStream(of: Void.self)
        var wake = PendingWake<Int>()
        let wait: @Sendable (Int) async -> Void = { target in
            if target == 1 {
                // The first wait never ends by itself: only cancellation ends it.
                try? await Task.sleep(for: .seconds(3600))
            } else {
                for await _ in gates { break }
            }
            if !Task.isCancelled { post.yield(target) }
        }
        wake.set(1, wait: wait)
        wake.set(1, wait: wait)
        wake.set(2, wait: wait)
        open.yield()
        var iterator = posts.makeAsyncIterator()
        #expect(await iterator.next() == 2)
        wake.ended()
        wake.cancel()
        post.finish()
        #expect(await iterator.next() == nil)
    }
}
