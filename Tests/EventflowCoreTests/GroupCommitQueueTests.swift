import EventflowCore
import Testing

@Suite struct GroupCommitQueueTests {
    let limits = GroupCommitLimits(maxPendingEvents: 100, maxPendingBytes: 10_000, maxBatchEvents: 30, maxBatchBytes: 5_000)

    @Test func refusesRequestsBeyondThePendingLimit() {
        var queue = GroupCommitQueue<Int>(limits: limits)
        #expect(queue.admit(1, events: 60, bytes: 10) == true)
        #expect(queue.admit(2, events: 40, bytes: 10) == true)
        #expect(queue.admit(3, events: 1, bytes: 10) == false)
        #expect(queue.saturation == 1)
        #expect(queue.admit(4, events: 0, bytes: 0, bypassingLimits: true) == true)
    }

    @Test func alwaysAdmitsIntoAnEmptyQueue() {
        var queue = GroupCommitQueue<Int>(limits: limits)
        #expect(queue.admit(1, events: 500, bytes: 50_000) == true)
        #expect(queue.admit(2, events: 1, bytes: 1) == false)
        #expect(queue.takeBatch() == [1])
        #expect(queue.admit(3, events: 1, bytes: 1) == true)
    }

    @Test func batchesWholeRequestsOldestFirstWithinTheLimits() {
        var queue = GroupCommitQueue<Int>(limits: limits)
        for request in 1...6 { #expect(queue.admit(request, events: 10, bytes: 100) == true) }
        #expect(queue.takeBatch() == [1, 2, 3])
        #expect(queue.pendingEvents == 30)
        #expect(queue.takeBatch() == [4, 5, 6])
        #expect(queue.isEmpty)
        #expect(queue.takeBatch() == [])
    }

    @Test func takesAnOversizedRequestAlone() {
        var queue = GroupCommitQueue<Int>(limits: limits)
        #expect(queue.admit(1, events: 50, bytes: 100) == true)
        #expect(queue.admit(2, events: 5, bytes: 100) == true)
        #expect(queue.takeBatch() == [1])
        #expect(queue.takeBatch() == [2])
    }

    @Test func batchesByBytesToo() {
        var queue = GroupCommitQueue<Int>(limits: limits)
        for request in 1...3 { #expect(queue.admit(request, events: 1, bytes: 2_000) == true) }
        #expect(queue.takeBatch() == [1, 2])
        #expect(queue.pendingBytes == 2_000)
    }
}
