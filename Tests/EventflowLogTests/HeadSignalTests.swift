@testable import EventflowLog
import Testing

/// Readers wait for the event they need next and are woken by the head that brings it,
/// not by a timer. A wait that is never woken fails the test at its time limit.
@Suite(.timeLimit(.minutes(1))) struct HeadSignalTests {
    @Test func aWaitForAnEventTheStreamHoldsReturnsAtOnce() async {
        let signal = HeadSignal(heads: ["events": 3])
        await signal.wait(stream: "events", forOffset: 2)
    }

    @Test func aWaiterWakesWhenAHeadPastItsOffsetIsPublishedAndNotBefore() async {
        let signal = HeadSignal(heads: ["events": 3])
        let (events, record) = AsyncStream.makeStream(of: String.self)
        let waiter = Task {
            await signal.wait(stream: "events", forOffset: 5)
            record.yield("woken")
        }
        // Neither another stream, nor a head that does not reach offset 5, nor a lower one.
        signal.publish(stream: "frames", head: 100)
        signal.publish(stream: "events", head: 5)
        signal.publish(stream: "events", head: 4)
        // A waiter woken by one of them would speak well before this.
        let quiet = Task {
            try? await Task.sleep(for: .milliseconds(200))
            record.yield("still waiting")
        }
        var order = events.makeAsyncIterator()
        #expect(await order.next() == "still waiting")
        await quiet.value
        signal.publish(stream: "events", head: 6)
        #expect(await order.next() == "woken")
        await waiter.value
    }

    @Test func aCancelledWaitReturns() async {
        let signal = HeadSignal(heads: [:])
        let waiter = Task { await signal.wait(stream: "events", forOffset: 0) }
        waiter.cancel()
        await waiter.value
    }
}
