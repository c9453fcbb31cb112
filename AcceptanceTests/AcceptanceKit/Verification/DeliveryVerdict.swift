/// What the client knows of one event it sent.
public enum ClientOutcome: UInt8, Sendable, Comparable {
    case notSent = 0
    /// Every attempt was refused (4xx/5xx): nothing was stored.
    case rejected = 1
    /// An attempt timed out or its connection broke: it may or may not be stored.
    case unknown = 2
    /// An attempt got 202: it is committed.
    case acknowledged = 3

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What the target's ledger says of the client's events, as parallel arrays (12 bytes an
/// event, so ten million events stay small).
public struct TargetRecords: Sendable, Equatable {
    /// First delivery, unix milliseconds; -1 when never delivered.
    public var firstDeliveredAtMs: [Int64]
    /// Successful deliveries of the id (more than 1: delivered more than once).
    public var deliveries: [UInt32]

    public init(count: Int) {
        firstDeliveredAtMs = [Int64](repeating: -1, count: count)
        deliveries = [UInt32](repeating: 0, count: count)
    }
}

/// The Jepsen-style delivery verdict: every acknowledged event delivered, nothing
/// delivered that was never sent, and how far deliveries strayed from acceptance order.
public struct DeliveryVerdict: Sendable, Equatable {
    /// Events sent at least once.
    public var attempted = 0
    /// Events with a 202.
    public var acknowledged = 0
    /// Attempted events the target applied.
    public var delivered = 0
    /// Acknowledged and never delivered: must be 0.
    public var lost = 0
    /// Delivered more than once.
    public var duplicated = 0
    /// Delivered although never sent, or although every attempt was refused: must be 0.
    public var unexpected = 0
    /// Outcome unknown to the client, delivered anyway.
    public var recovered = 0
    /// The largest time an event was delivered after one accepted later than it.
    public var maxReorderSeconds = 0.0

    public init() {}

    /// Computes the verdict.
    /// - Parameters:
    ///   - outcomes: per event index, what the client knows.
    ///   - offsets: per event index, the log offset it was acknowledged at (for acceptance order), or -1.
    ///   - delivered: per event index, what the target recorded.
    ///   - unknownIDs: ids in the target's ledger that match no event the client made.
    public static func compute(outcomes: [ClientOutcome], offsets: [Int64], delivered: TargetRecords, unknownIDs: Int) -> DeliveryVerdict {
        var verdict = DeliveryVerdict()
        verdict.unexpected = unknownIDs
        var acceptanceOrder: [(offset: Int64, deliveredAtMs: Int64)] = []
        for index in outcomes.indices {
            let outcome = outcomes[index]
            let deliveredAt = delivered.firstDeliveredAtMs[index]
            let wasDelivered = deliveredAt >= 0
            if outcome == .notSent {
                if wasDelivered { verdict.unexpected += 1 }
                continue
            }
            verdict.attempted += 1
            if wasDelivered { verdict.delivered += 1 }
            if delivered.deliveries[index] > 1 { verdict.duplicated += 1 }
            switch outcome {
            case .acknowledged:
                verdict.acknowledged += 1
                if wasDelivered {
                    if offsets[index] >= 0 { acceptanceOrder.append((offsets[index], deliveredAt)) }
                } else {
                    verdict.lost += 1
                }
            case .unknown:
                if wasDelivered { verdict.recovered += 1 }
            case .rejected:
                if wasDelivered { verdict.unexpected += 1 }
            case .notSent:
                break
            }
        }
        acceptanceOrder.sort { $0.offset < $1.offset }
        var latestSoFar = Int64.min
        var maxReorderMs: Int64 = 0
        for (_, deliveredAt) in acceptanceOrder {
            if latestSoFar > deliveredAt { maxReorderMs = max(maxReorderMs, latestSoFar - deliveredAt) }
            latestSoFar = max(latestSoFar, deliveredAt)
        }
        verdict.maxReorderSeconds = Double(maxReorderMs) / 1000
        return verdict
    }
}
