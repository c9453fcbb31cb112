import EventflowCore
import EventflowLog

/// The `accounts` processor: keeps the highest version of every account and schedules
/// its callback, durably, in the `accounts` table.
///
/// Updates are decided one by one in offset order against the stored version (looked up
/// once per batch for the ids it touches), so batching never changes the outcome: a
/// newer version replaces the row, cancels the pending callback of the one it replaces,
/// and schedules its own at `accepted_at + callbackTimeMs`.
struct AccountsStep: ProcessorStep {
    static let name = "accounts"
    static let stream = "accounts"
    static let fields = TopLevelFields(["accountType", "tokens", "callbackTimeMs", "data", "version"])

    let configuration: AccountsConfiguration
    let metrics: AccountsMetrics
    let claims: CallbackClaims
    /// Told after each commit that scheduled callbacks, with the soonest one's time (ms):
    /// the dispatcher sleeps until then instead of looking at the table every few milliseconds.
    let scheduled: @Sendable (_ dueAtMs: Int64) -> Void
    private var known: [String: AccountVersion] = [:]
    private var accounts: [String: AccountsStore.Account] = [:]
    private var observations: [AccountsObservation] = []
    private var cancelled: [AccountCallback] = []
    /// The soonest callback of the batch being committed.
    private var soonestDueMs: Int64?

    init(configuration: AccountsConfiguration, metrics: AccountsMetrics, claims: CallbackClaims, scheduled: @escaping @Sendable (_ dueAtMs: Int64) -> Void) {
        self.configuration = configuration
        self.metrics = metrics
        self.claims = claims
        self.scheduled = scheduled
    }

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { true }
    var schema: [String] { AccountsStore.schema }

    mutating func recover(from state: any ProcessorStateStore) async throws {
        claims.stepRestarted()
    }

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        let unseen = Set(events.compactMap(\.key)).subtracting(known.keys)
        known.merge(try await AccountsStore(state: state).versions(of: unseen)) { _, stored in stored }
        for event in events {
            guard let id = event.key,
                let fields = event.body.withUnsafeReadableBytes({ Self.fields.decode($0) }),
                let version = fields["version"]?.integer, let accountType = fields["accountType"]?.string,
                let tokens = fields["tokens"]?.integer, let callbackTimeMs = fields["callbackTimeMs"]?.integer
            else { continue }
            switch AccountVersionRule.decide(current: known[id], update: version) {
            case .stale(let current):
                observations.append(.ignoredStale(id: id, version: version, currentVersion: current))
            case .indexed(let replaced):
                if let replaced, claims.cancel(AccountCallback(id: id, version: replaced)) {
                    cancelled.append(AccountCallback(id: id, version: replaced))
                    observations.append(.callbackCancelled(id: id, version: replaced, byVersion: version))
                }
                observations.append(.indexed(id: id, version: version))
                known[id] = AccountVersion(version: version, callback: .pending)
                let dueMs = event.acceptedAtMs + Int64((Double(callbackTimeMs) * configuration.callbackDelayScale).rounded())
                accounts[id] = AccountsStore.Account(
                    id: id, accountType: accountType, tokens: tokens, version: version, data: fields["data"]?.jsonText,
                    body: String(buffer: event.body), acceptedAtMs: event.acceptedAtMs, callbackDueMs: dueMs)
            }
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        defer {
            accounts.removeAll(keepingCapacity: true)
            known.removeAll(keepingCapacity: true)
        }
        soonestDueMs = accounts.values.lazy.map(\.callbackDueMs).min()
        return AccountsStore.store(accounts.values)
    }

    mutating func didCommit() {
        claims.stepCommitted(cancelling: cancelled)
        cancelled.removeAll(keepingCapacity: true)
        if let soonestDueMs { scheduled(soonestDueMs) }
        soonestDueMs = nil
        for observation in observations {
            switch observation {
            case .indexed: metrics.indexed.increment()
            case .ignoredStale: metrics.ignoredStale.increment()
            case .callbackCancelled: metrics.callbacksCancelled.increment()
            case .callbackFired, .callbackFailed: break
            }
            configuration.observer?(observation)
        }
        observations.removeAll(keepingCapacity: true)
    }
}
