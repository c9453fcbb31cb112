/// Whether a mail domain accepts mail for any address, judged from delivery outcomes.
public enum DomainStatus: String, Sendable, Equatable {
    case catchAll = "catch-all"
    case notCatchAll = "not catch-all"
    case unknown

    /// Deliveries needed, with no bounce, before a domain counts as catch-all: it must
    /// have strictly more than this many.
    public static let catchAllThreshold: Int64 = 1000

    /// Any bounce settles it as not catch-all; more than 1000 deliveries and no bounce as
    /// catch-all; anything less is unknown.
    public init(delivered: Int64, bounced: Int64) {
        if bounced > 0 {
            self = .notCatchAll
        } else if delivered > Self.catchAllThreshold {
            self = .catchAll
        } else {
            self = .unknown
        }
    }
}
