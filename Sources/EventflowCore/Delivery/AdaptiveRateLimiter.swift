/// The delivery side's limiter: a token bucket set just under the target's known limit,
/// that backs off when the target answers 429 anyway and recovers while it does not.
///
/// Sending at exactly the target's rate and burst would exceed it: network jitter can
/// bring two requests closer together at the target than they were sent. So the
/// bucket keeps a margin (50 ms worth of tokens less burst, and 1 % less rate), which keeps
/// throttling away while still using more than 95 % of the limit. 25 ms was not enough on
/// a loaded 2-core machine: the test suite's rate-limit test saw 429s with it.
public struct AdaptiveRateLimiter: Sendable, Equatable {
    /// The target's advertised limit.
    public let limit: Double
    /// Lowest rate the limiter backs off to, as a share of the limit.
    public static let floorShare = 0.1
    /// Share of the limit the limiter aims for when the target is not throttling.
    public static let targetShare = 0.99
    /// Rate lost on each 429, as a factor.
    public static let decrease = 0.8
    /// Rate regained per second without a 429, as a share of the limit.
    public static let recoveryPerSecond = 0.05

    private var bucket: TokenBucket
    private var pausedUntil: Double = 0
    private var lastAdjustment: Double

    /// A limiter for `rate` and `burst`; with `startEmpty` the first requests wait for
    /// tokens instead of spending the burst at once (a process taking over from another,
    /// which may just have spent it).
    public init(rate: Double, burst: Double, now: Double, startEmpty: Bool = false) {
        limit = rate
        let jitterAllowance = (rate * 0.05).rounded(.up)  // tokens that 50 ms of jitter can bunch up
        bucket = TokenBucket(rate: rate * Self.targetShare, burst: max(1, burst - jitterAllowance), now: now)
        if startEmpty { bucket.drain(now: now) }
        lastAdjustment = now
    }

    /// The rate the limiter currently allows, in requests per second.
    public var currentRate: Double { bucket.rate }

    /// Whether a request may go now, or how long to wait.
    public mutating func acquire(now: Double) -> RateDecision {
        recover(now: now)
        if now < pausedUntil { return .wait(seconds: pausedUntil - now) }
        return bucket.take(now: now)
    }

    /// The target throttled a request: pause for its `Retry-After` (when given) and slow down.
    public mutating func throttled(retryAfter: Double?, now: Double) {
        recover(now: now)
        if let retryAfter, retryAfter > 0 { pausedUntil = max(pausedUntil, now + retryAfter) }
        bucket.setRate(max(limit * Self.floorShare, bucket.rate * Self.decrease), now: now)
        bucket.drain(now: now)
        lastAdjustment = now
    }

    private mutating func recover(now: Double) {
        let ceiling = limit * Self.targetShare
        guard bucket.rate < ceiling, now > lastAdjustment else { return }
        bucket.setRate(min(ceiling, bucket.rate + limit * Self.recoveryPerSecond * (now - lastAdjustment)), now: now)
        lastAdjustment = now
    }
}
