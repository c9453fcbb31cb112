import EventflowCore
import Testing

@Suite struct BatchFlushPolicyTests {
    @Test func flushesWhenTheBatchIsFull() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1)
        policy.read(4999, now: 0)
        #expect(!policy.shouldFlush(now: 0.5))
        #expect(policy.room == 1)
        policy.read(1, now: 0.5)
        #expect(policy.shouldFlush(now: 0.5))
        #expect(policy.room == 0)
    }

    /// Large events fill a batch by their bytes before its count: a processor holds at most
    /// `maxBytes` of bodies (and one event beyond, read alone when it is larger).
    @Test func flushesWhenTheBodiesFillTheBytes() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1, maxBytes: 1_000)
        policy.read(3, bytes: 600, now: 0)
        #expect(policy.byteRoom == 400)
        #expect(policy.room == 4997)
        #expect(!policy.shouldFlush(now: 0))
        policy.read(1, bytes: 500, now: 0)
        #expect(policy.byteRoom == 0)
        #expect(policy.room == 0)
        #expect(policy.shouldFlush(now: 0))
        policy.flushed()
        #expect(policy.pendingBytes == 0)
        #expect(policy.byteRoom == 1_000)
    }

    @Test func flushesOnceTheIntervalPassedSinceTheFirstUnflushedEvent() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1)
        #expect(!policy.shouldFlush(now: 10))
        #expect(policy.deadline == nil)
        policy.read(3, now: 2)
        policy.read(3, now: 2.9)
        #expect(policy.deadline == 3)
        #expect(!policy.shouldFlush(now: 2.99))
        #expect(policy.shouldFlush(now: 3))
        policy.flushed()
        #expect(policy.pending == 0)
        #expect(!policy.shouldFlush(now: 100))
        policy.read(1, now: 100)
        #expect(policy.deadline == 101)
    }
}
