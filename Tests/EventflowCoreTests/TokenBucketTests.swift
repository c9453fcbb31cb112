import EventflowCore
import Testing

@Suite struct TokenBucketTests {
    @Test func allowsTheBurstThenTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: 0)
        for _ in 0..<3 { #expect(bucket.take(now: 0) == .allowed) }
        #expect(bucket.take(now: 0) == .wait(seconds: 0.1))
        #expect(bucket.take(now: 0.1) == .allowed)
        #expect(bucket.take(now: 10) == .allowed)
        #expect(bucket.take(now: 10) == .allowed)
        #expect(bucket.take(now: 10) == .allowed)
        #expect(bucket.take(now: 10) != .allowed)
    }

    @Test func neverAllowsMoreThanBurstPlusRateTimesTime() {
        var bucket = TokenBucket(rate: 100, burst: 20, now: 0)
        var allowed = 0
        var now = 0.0
        while now < 10 {
            if bucket.take(now: now) == .allowed { allowed += 1 }
            now += 0.0003
        }
        #expect(allowed <= 20 + 100 * 10)
        #expect(allowed >= 100 * 10)
    }
}

@Suite struct LeakyBucketTests {
    @Test func refusesRequestsThatWouldOverflowAndDrainsOverTime() {
        var bucket = LeakyBucket(capacity: 1000, restoreRate: 100, now: 0)
        for _ in 0..<20 { #expect(bucket.take(50, now: 0) == .allowed) }
        #expect(bucket.take(50, now: 0) == .wait(seconds: 0.5))
        #expect(bucket.take(50, now: 0.5) == .allowed)
    }
}
