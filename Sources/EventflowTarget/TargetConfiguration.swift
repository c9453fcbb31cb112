import EventflowCore

/// How the reference target limits the rate of requests.
public enum TargetRateLimit: Sendable, Equatable {
    case unlimited
    /// `rate` requests per second with bursts of `burst`.
    case tokenBucket(rate: Double, burst: Double)
    /// A bucket of `size` units draining `restoreRate` per second; each request costs `cost`.
    case leakyBucket(size: Double, restoreRate: Double, cost: Double)
}

/// Faults the target injects; adjustable while it runs (`PUT /admin/faults`).
public struct TargetFaults: Sendable, Equatable, Codable {
    /// Share of requests answered 500.
    public var errorRate: Double = 0
    /// Share of requests held for `timeoutHoldMs` (past the client's timeout) and then answered 503.
    public var timeoutRate: Double = 0
    /// Share of requests answered 422 (a permanent rejection).
    public var permanentErrorRate: Double = 0
    /// Added latency per request, spread uniformly over ±50 %.
    public var latencyMs: Double = 0
    public var timeoutHoldMs: Double = 30_000
    /// Requests carrying an id with this prefix are answered 503 until `failIdsForSeconds`
    /// after that id's first attempt: one event failing for a set time.
    public var failIdsPrefix: String?
    public var failIdsForSeconds: Double = 0
    /// Share of requests answered as a hostile peer would, each in one of the ways of
    /// ``HostileAnswer`` chosen at random: what a client must survive without stalling.
    public var hostileRate: Double = 0

    public init() {}

    /// Why these faults cannot be injected (a share outside 0...1, a time that is negative,
    /// not finite or over an hour), or nil when they can.
    public var problem: String? {
        for (name, share) in [
            ("error_rate", errorRate), ("timeout_rate", timeoutRate), ("permanent_error_rate", permanentErrorRate), ("hostile_rate", hostileRate),
        ]
        where !(0...1).contains(share) {
            return "\(name) must be between 0 and 1"
        }
        for (name, value) in [("latency_ms", latencyMs), ("timeout_hold_ms", timeoutHoldMs), ("fail_ids_for_seconds", failIdsForSeconds * 1000)]
        where !(0...3_600_000).contains(value) {
            return "\(name) must be between 0 and one hour"
        }
        return nil
    }

    /// Decodes a partial update: keys that are absent keep the values of `base`.
    public init(from decoder: any Decoder) throws {
        try self.init(from: decoder, base: TargetFaults())
    }

    public init(from decoder: any Decoder, base: TargetFaults) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        errorRate = try container.decodeIfPresent(Double.self, forKey: .errorRate) ?? base.errorRate
        timeoutRate = try container.decodeIfPresent(Double.self, forKey: .timeoutRate) ?? base.timeoutRate
        permanentErrorRate = try container.decodeIfPresent(Double.self, forKey: .permanentErrorRate) ?? base.permanentErrorRate
        latencyMs = try container.decodeIfPresent(Double.self, forKey: .latencyMs) ?? base.latencyMs
        timeoutHoldMs = try container.decodeIfPresent(Double.self, forKey: .timeoutHoldMs) ?? base.timeoutHoldMs
        failIdsPrefix = try container.decodeIfPresent(String.self, forKey: .failIdsPrefix) ?? base.failIdsPrefix
        failIdsForSeconds = try container.decodeIfPresent(Double.self, forKey: .failIdsForSeconds) ?? base.failIdsForSeconds
        hostileRate = try container.decodeIfPresent(Double.self, forKey: .hostileRate) ?? base.hostileRate
    }

    enum CodingKeys: String, CodingKey {
        case errorRate = "error_rate"
        case timeoutRate = "timeout_rate"
        case permanentErrorRate = "permanent_error_rate"
        case latencyMs = "latency_ms"
        case timeoutHoldMs = "timeout_hold_ms"
        case failIdsPrefix = "fail_ids_prefix"
        case failIdsForSeconds = "fail_ids_for_seconds"
        case hostileRate = "hostile_rate"
    }
}

/// The ways the reference target answers a request when it plays a hostile peer.
public enum HostileAnswer: String, Sendable, CaseIterable {
    /// 429 with `Retry-After: 1e16` (about 300 million years), not applied.
    case absurdRetryAfter = "absurd_retry_after"
    /// Applied, then 200 with its head sent and its body held for `timeout_hold_ms`.
    case stallAfterHeaders = "stall_after_headers"
    /// Applied, then 200 with a 64 MiB body.
    case hugeBody = "huge_body"
    /// Not applied: the head announces a body, ten bytes of it are sent, and the connection is dropped.
    case reset
}

/// A span of time after start in which every request gets 503.
public struct TargetOutage: Sendable, Equatable {
    public var startSeconds: Double
    public var durationSeconds: Double

    public init(startSeconds: Double, durationSeconds: Double) {
        self.startSeconds = startSeconds
        self.durationSeconds = durationSeconds
    }

    /// Parses `START:DURATION`, each a duration like `10s`, `500ms` or `2m` (`10s:5s`).
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let start = DurationText.seconds(String(parts[0])), let duration = DurationText.seconds(String(parts[1])), start >= 0, duration > 0
        else { return nil }
        self.init(startSeconds: start, durationSeconds: duration)
    }

    func contains(_ secondsSinceStart: Double) -> Bool {
        secondsSinceStart >= startSeconds && secondsSinceStart < startSeconds + durationSeconds
    }
}

/// Everything `eventflow target` needs.
public struct TargetConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The limit of `POST /deliver`: the third-party API's limit that delivery must stay under.
    public var rateLimit: TargetRateLimit
    /// The limit of `POST /callbacks`, kept apart so that account callbacks never spend
    /// delivery's budget (unlimited by default).
    public var callbackRateLimit: TargetRateLimit
    public var faults: TargetFaults
    public var outage: TargetOutage?
    /// Seed of the fault injection's random choices.
    public var seed: UInt64
    /// When set, `/admin/*` requires it (`X-Api-Key` or `Authorization: Bearer`), so that
    /// whoever reaches the target cannot switch its faults.
    public var adminKey: String?

    public init(
        host: String = "127.0.0.1", port: Int = 9090, rateLimit: TargetRateLimit = .unlimited, callbackRateLimit: TargetRateLimit = .unlimited,
        faults: TargetFaults = TargetFaults(), outage: TargetOutage? = nil, seed: UInt64 = 1, adminKey: String? = nil
    ) {
        self.adminKey = adminKey
        self.host = host
        self.port = port
        self.rateLimit = rateLimit
        self.callbackRateLimit = callbackRateLimit
        self.faults = faults
        self.outage = outage
        self.seed = seed
    }
}
