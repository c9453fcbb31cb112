import Synchronization
import Testing

@testable import EventflowServer

@Suite struct CoalescingTickerTests {
    /// A loop that takes no tick for 100 intervals finds one waiting, not a hundred; once it
    /// takes that one, the next comes.
    @Test func aLoopThatFallsBehindFindsOneTickWaiting() async throws {
        let ticker = CoalescingTicker(every: .milliseconds(2))
        let posted = Atomic<Int>(0)
        let running = Task { await ticker.run { posted.add(1, ordering: .relaxed) } }
        defer { running.cancel() }
        while posted.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(posted.load(ordering: .relaxed) == 1)
        ticker.taken()
        while posted.load(ordering: .relaxed) == 1 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(posted.load(ordering: .relaxed) == 2)
    }
}
