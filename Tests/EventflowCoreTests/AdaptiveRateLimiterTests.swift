import EventflowCore
import Testing

@Suite struct AdaptiveRateLimiterTests {
    @Test func keepsAMarginUnderTheTargetsLimit() {
        var limiter = AdaptiveRateLimiter(rate: 1000, burst: 200, now: 0)
        var sent = 0
        var now = 0.0
        while now < 10 {
            if limiter.acquire(now: now) == .allowed { sent += 1 } else { now += 0.0001 }
        }
        // The target's bucket would allow 200 + 1000 × 10 = 10,200.
        #expect(sent < 10_200)
        #expect(Double(sent) >= 0.95 * 10_000)
    }

    @Test func pausesForRetryAfterSlowsDownAndRecovers() {
        var limiter = AdaptiveRateLimiter(rate: 1000, burst: 10, now: 0)
        limiter.throttled(retryAfter: 2, now: 1)
        #expect(limiter.acquire(now: 1.5) == .wait(seconds: 1.5))
        #expect(limiter.currentRate < 990)
        _ = limiter.acquire(now: 30)
        #expect(limiter.currentRate == 990)
    }

    @Test func backsOffNoFurtherThanTheFloor() {
        var limiter = AdaptiveRateLimiter(rate: 1000, burst: 10, now: 0)
        for _ in 0..<100 { limiter.throttled(retryAfter: nil, now: 0) }
        #expect(limiter.currentRate == 100)
    }
}
