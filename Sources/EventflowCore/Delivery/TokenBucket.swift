/// A token bucket: `burst` tokens, refilled at `rate` per second; each request takes one.
///
/// Times are seconds on any monotonic clock the caller chooses, so tests can drive it
/// without sleeping.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var rate: Double
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Double

    public init(rate: Double, burst: Double, now: Double) {
        precondition(rate > 0 && burst >= 1, "a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    /// Takes `cost` tokens if there are enough; otherwise says how long to wait for them.
    public mutating func take(_ cost: Double = 1, now: Double) -> RateDecision {
        refill(now: now)
        if tokens >= cost {
            tokens -= cost
            return .allowed
        }
        return .wait(seconds: (cost - tokens) / rate)
    }

    /// Changes the refill rate from now on.
    public mutating func setRate(_ newRate: Double, now: Double) {
        refill(now: now)
        rate = newRate
    }

    /// Empties the bucket, e.g. after the far side said it was over its limit.
    public mutating func drain(now: Double) {
        refill(now: now)
        tokens = min(tokens, 0)
    }

    private mutating func refill(now: Double) {
        if now > updatedAt {
            tokens = min(burst, tokens + (now - updatedAt) * rate)
            updatedAt = now
        }
    }
}

/// Whether a request may go now.
public enum RateDecision: Sendable, Equatable {
    case allowed
    case wait(seconds: Double)
}

/// A cost-based leaky bucket (as Shopify-style APIs use): the bucket holds up to
/// `capacity` units, drains at `restoreRate` units per second, and a request that would
/// overflow it is refused.
public struct LeakyBucket: Sendable, Equatable {
    public let capacity: Double
    public let restoreRate: Double
    private var level: Double = 0
    private var updatedAt: Double

    public init(capacity: Double, restoreRate: Double, now: Double) {
        precondition(capacity > 0 && restoreRate > 0, "a leaky bucket needs capacity > 0 and restore rate > 0")
        self.capacity = capacity
        self.restoreRate = restoreRate
        self.updatedAt = now
    }

    /// Adds `cost` units if they fit; otherwise says how long until they would.
    public mutating func take(_ cost: Double, now: Double) -> RateDecision {
        if now > updatedAt {
            level = max(0, level - (now - updatedAt) * restoreRate)
            updatedAt = now
        }
        if level + cost <= capacity {
            level += cost
            return .allowed
        }
        return .wait(seconds: (level + cost - capacity) / restoreRate)
    }
}
