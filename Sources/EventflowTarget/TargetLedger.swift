import Synchronization

/// What the target saw of one id: attempts and the first time it was applied.
public struct LedgerEntry: Sendable, Equatable {
    /// Unix milliseconds of the first successful delivery; nil while none succeeded.
    public var firstDeliveredAtMs: Int64?
    /// Requests that carried this id, successful or not.
    public var attempts: Int
    /// Successful requests that carried this id (more than 1: delivered more than once).
    public var deliveries = 0
    /// Unix milliseconds of the first request that carried this id.
    public var firstAttemptAtMs: Int64
    /// For callbacks: the account version.
    public var version: Int64?
}

/// The totals of `GET /ledger/summary`.
public struct LedgerSummary: Sendable, Equatable, Codable {
    /// Events in successful requests, duplicates included.
    public var received = 0
    /// Distinct ids applied.
    public var unique = 0
    /// Events applied again (the same id after its first success).
    public var duplicates = 0
    /// Requests answered 429.
    public var throttled = 0
    /// Requests failed on purpose (5xx, 422, held past the timeout, outage).
    public var errorsInjected = 0

    enum CodingKeys: String, CodingKey {
        case received, unique, duplicates, throttled
        case errorsInjected = "errors_injected"
    }
}

/// The target's record of every id it was sent, idempotent by id.
public final class TargetLedger: Sendable {
    private struct State: Sendable {
        var entries: [String: LedgerEntry] = [:]
        var summary = LedgerSummary()
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts an attempt for every id of a request, before its outcome is known; returns
    /// when each id was first attempted.
    func recordAttempts(_ ids: [String], versions: [Int64?], atMs now: Int64) -> [Int64] {
        state.withLock { state in
            zip(ids, versions).map { id, version in
                state.entries[id, default: LedgerEntry(attempts: 0, firstAttemptAtMs: now, version: version)].attempts += 1
                return state.entries[id]!.firstAttemptAtMs
            }
        }
    }

    /// Applies a successful request; returns how many of its ids were duplicates.
    func apply(_ ids: [String], atMs now: Int64) -> Int {
        state.withLock { state in
            var duplicates = 0
            for id in ids {
                var entry = state.entries[id] ?? LedgerEntry(attempts: 1, firstAttemptAtMs: now)
                if entry.firstDeliveredAtMs == nil {
                    entry.firstDeliveredAtMs = now
                    state.summary.unique += 1
                } else {
                    duplicates += 1
                }
                entry.deliveries += 1
                state.entries[id] = entry
            }
            state.summary.received += ids.count
            state.summary.duplicates += duplicates
            return duplicates
        }
    }

    func countThrottled() { state.withLock { $0.summary.throttled += 1 } }
    func countInjectedError() { state.withLock { $0.summary.errorsInjected += 1 } }

    public var summary: LedgerSummary { state.withLock { $0.summary } }

    /// A copy of every entry, for streaming out without holding the lock.
    public var snapshot: [String: LedgerEntry] { state.withLock { $0.entries } }
}
