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
    private var known: [String: AccountVersion] = [:]
    private var rows: [String: [StateValue]] = [:]
    private var observations: [AccountsObservation] = []
    private var cancelled: [CallbackDispatcher.Callback] = []

    init(configuration: AccountsConfiguration, metrics: AccountsMetrics, claims: CallbackClaims) {
        self.configuration = configuration
        self.metrics = metrics
        self.claims = claims
    }

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { true }
    var schema: [String] { Self.schema }

    static var schema: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, account_type TEXT NOT NULL, tokens BIGINT NOT NULL, \
            version BIGINT NOT NULL, data TEXT, body TEXT NOT NULL, accepted_at_ms BIGINT NOT NULL, callback_due_ms BIGINT NOT NULL, \
            callback_state TEXT NOT NULL, callback_fired_at_ms BIGINT)
            """,
            "CREATE INDEX IF NOT EXISTS accounts_pending_callbacks ON accounts (callback_due_ms) WHERE callback_state = 'pending'",
            "CREATE INDEX IF NOT EXISTS accounts_by_type ON accounts (account_type, tokens)",
        ]
    }

    mutating func recover(from state: any ProcessorStateStore) async throws {
        claims.stepRestarted()
    }

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        let unseen = Set(events.compactMap(\.key)).subtracting(known.keys)
        for statement in StateStatement.whereIn("SELECT id, version, callback_state FROM accounts WHERE id", unseen.map(StateValue.text)) {
            for row in try await state.queryState(statement) {
                guard let id = row.text(0), let version = row.integer(1) else { continue }
                known[id] = AccountVersion(version: version, callback: row.text(2).flatMap(CallbackState.init(rawValue:)) ?? .fired)
            }
        }
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
                if let replaced, claims.cancel(CallbackDispatcher.Callback(id: id, version: replaced)) {
                    cancelled.append(CallbackDispatcher.Callback(id: id, version: replaced))
                    observations.append(.callbackCancelled(id: id, version: replaced, byVersion: version))
                }
                observations.append(.indexed(id: id, version: version))
                known[id] = AccountVersion(version: version, callback: .pending)
                let dueMs = event.acceptedAtMs + Int64((Double(callbackTimeMs) * configuration.callbackDelayScale).rounded())
                rows[id] = [
                    .text(id), .text(accountType), .integer(tokens), .integer(version), fields["data"].map { .text($0.jsonText) } ?? .null,
                    .text(String(buffer: event.body)), .integer(event.acceptedAtMs), .integer(dueMs), .text(CallbackState.pending.rawValue),
                ]
            }
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        defer {
            rows.removeAll(keepingCapacity: true)
            known.removeAll(keepingCapacity: true)
        }
        return StateStatement.insertRows(
            "INSERT INTO accounts (id, account_type, tokens, version, data, body, accepted_at_ms, callback_due_ms, callback_state)",
            rows: Array(rows.values),
            tail: """
                ON CONFLICT (id) DO UPDATE SET account_type = excluded.account_type, tokens = excluded.tokens, version = excluded.version, \
                data = excluded.data, body = excluded.body, accepted_at_ms = excluded.accepted_at_ms, \
                callback_due_ms = excluded.callback_due_ms, callback_state = excluded.callback_state, callback_fired_at_ms = NULL
                """)
    }

    mutating func didCommit() {
        claims.stepCommitted(cancelling: cancelled)
        cancelled.removeAll(keepingCapacity: true)
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
