/// What an attempt to deliver to the target came to, and what to do next.
public enum DeliveryOutcome: Sendable, Equatable {
    /// 2xx: delivered (a repeat answered 200 by an idempotent target counts too).
    case delivered
    /// 429: over the target's limit; retry after backing off.
    case throttled(retryAfter: Double?)
    /// 5xx or another status worth retrying.
    case failed(status: Int, retryAfter: Double?)
    /// The request timed out.
    case timedOut
    /// The connection failed or broke.
    case connectionFailed
    /// A permanent 4xx: retrying cannot help; the event goes to the dead letters.
    case rejected(status: Int)
    /// The request could not even be built (say, an id that is no valid header value):
    /// a local reason that no retry can change, so the event goes to the dead letters.
    case unsendable(reason: String)

    /// Statuses that mean the target will never accept this event as it is.
    public static let permanentStatuses: Set<Int> = [400, 404, 409, 410, 422]

    public init(status: Int, retryAfter: Double?) {
        switch status {
        case 200..<300: self = .delivered
        case 429: self = .throttled(retryAfter: retryAfter)
        case _ where Self.permanentStatuses.contains(status): self = .rejected(status: status)
        default: self = .failed(status: status, retryAfter: retryAfter)
        }
    }

    /// The `outcome` label of `eventflow_delivery_attempts_total`.
    public var metricLabel: String {
        switch self {
        case .delivered: "ok"
        case .throttled: "throttled"
        case .failed, .connectionFailed: "error"
        case .timedOut: "timeout"
        case .rejected, .unsendable: "dead_letter"
        }
    }
}
