import EventflowCore
import EventflowLog

/// The `accounts` table: the highest version of every account, with its callback's time
/// and state. Its schema, the statements the step and the callback dispatcher commit, and
/// the queries of the step, the dispatcher and the read API live here only.
struct AccountsStore {
    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, account_type TEXT NOT NULL, tokens BIGINT NOT NULL, \
        version BIGINT NOT NULL, data TEXT, body TEXT NOT NULL, accepted_at_ms BIGINT NOT NULL, callback_due_ms BIGINT NOT NULL, \
        callback_state TEXT NOT NULL, callback_fired_at_ms BIGINT)
        """,
        "CREATE INDEX IF NOT EXISTS accounts_pending_callbacks ON accounts (callback_due_ms) WHERE callback_state = 'pending'",
        "CREATE INDEX IF NOT EXISTS accounts_by_type ON accounts (account_type, tokens)",
    ]

    /// One account version as the step stores it, its callback pending.
    struct Account: Sendable {
        var id: String
        var accountType: String
        var tokens: Int64
        var version: Int64
        /// The `data` member's JSON text, if any.
        var data: String?
        /// The event as ingested: the callback's body.
        var body: String
        var acceptedAtMs: Int64
        var callbackDueMs: Int64
    }

    /// The account with the most tokens of one type.
    struct Top: Sendable {
        var accountType: String
        var id: String
        var tokens: Int64
        var version: Int64
    }

    /// An account as the read API shows it.
    struct Summary: Sendable {
        var id: String
        var accountType: String
        var tokens: Int64
        var version: Int64
        var data: String?
        var callback: String
    }

    let state: any ProcessorStateStore

    // MARK: - The step

    /// The stored version and callback state of each of `ids` that has a row.
    func versions(of ids: some Collection<String>) async throws -> [String: AccountVersion] {
        var versions: [String: AccountVersion] = [:]
        for statement in StateStatement.whereIn("SELECT id, version, callback_state FROM accounts WHERE id", ids.map(StateValue.text)) {
            for row in try await state.queryState(statement) {
                guard let id = row.text(0), let version = row.integer(1) else { continue }
                versions[id] = AccountVersion(version: version, callback: row.text(2).flatMap(CallbackState.init(rawValue:)) ?? .fired)
            }
        }
        return versions
    }

    /// Statements that store `accounts`, each replacing its row and its callback.
    static func store(_ accounts: some Collection<Account>) -> [StateStatement] {
        StateStatement.insertRows(
            "INSERT INTO accounts (id, account_type, tokens, version, data, body, accepted_at_ms, callback_due_ms, callback_state)",
            rows: accounts.map { account in
                [
                    .text(account.id), .text(account.accountType), .integer(account.tokens), .integer(account.version),
                    account.data.map(StateValue.text) ?? .null, .text(account.body), .integer(account.acceptedAtMs),
                    .integer(account.callbackDueMs), .text(CallbackState.pending.rawValue),
                ]
            },
            tail: """
                ON CONFLICT (id) DO UPDATE SET account_type = excluded.account_type, tokens = excluded.tokens, version = excluded.version, \
                data = excluded.data, body = excluded.body, accepted_at_ms = excluded.accepted_at_ms, \
                callback_due_ms = excluded.callback_due_ms, callback_state = excluded.callback_state, callback_fired_at_ms = NULL
                """)
    }

    // MARK: - The callback dispatcher

    /// Pending callbacks due at `nowMs`, soonest first, at most `limit`, without their bodies.
    func dueCallbacks(at nowMs: Int64, limit: Int) async throws -> [AccountCallback] {
        let rows = try await state.queryState(
            StateStatement(
                "SELECT id, version FROM accounts WHERE callback_state = 'pending' AND callback_due_ms <= ? ORDER BY callback_due_ms LIMIT ?",
                [.integer(nowMs), .integer(Int64(limit))]))
        return rows.compactMap { row in
            guard let id = row.text(0), let version = row.integer(1) else { return nil }
            return AccountCallback(id: id, version: version)
        }
    }

    /// When the soonest pending callback due after `nowMs` is due; nil when there is none.
    func nextCallbackDue(after nowMs: Int64) async throws -> Int64? {
        try await state.queryState(
            StateStatement(
                "SELECT MIN(callback_due_ms) FROM accounts WHERE callback_state = 'pending' AND callback_due_ms > ?", [.integer(nowMs)])
        ).first?.integer(0)
    }

    /// The bodies of those of `callbacks` still pending, by callback.
    func bodies(of callbacks: [AccountCallback]) async throws -> [AccountCallback: String] {
        guard !callbacks.isEmpty else { return [:] }
        let match = Array(repeating: "(id = ? AND version = ?)", count: callbacks.count).joined(separator: " OR ")
        let rows = try await state.queryState(
            StateStatement(
                "SELECT id, version, body FROM accounts WHERE callback_state = 'pending' AND (\(match))",
                callbacks.flatMap { [StateValue.text($0.id), .integer($0.version)] }))
        var bodies: [AccountCallback: String] = [:]
        for row in rows {
            guard let id = row.text(0), let version = row.integer(1), let body = row.text(2) else { continue }
            bodies[AccountCallback(id: id, version: version)] = body
        }
        return bodies
    }

    /// Statements that record settled callbacks (fired or failed for good) at `nowMs`,
    /// unless the account moved on to a newer version meanwhile.
    static func settle(_ settled: [CallbackFiring.Settled], at nowMs: Int64) -> [StateStatement] {
        settled.map { settled in
            let (callback, callbackState) = (settled.callback, settled.state)
            return StateStatement(
                "UPDATE accounts SET callback_state = ?, callback_fired_at_ms = ? WHERE id = ? AND version = ? AND callback_state = 'pending'",
                [.text(callbackState.rawValue), .integer(nowMs), .text(callback.id), .integer(callback.version)])
        }
    }

    /// Callbacks not yet fired.
    func pendingCallbacks() async throws -> Int64 {
        try await state.queryState(StateStatement("SELECT COUNT(*) FROM accounts WHERE callback_state = 'pending'")).first?.integer(0) ?? 0
    }

    // MARK: - The read API

    /// The account `id`, if it has a row.
    func account(id: String) async throws -> Summary? {
        let rows = try await state.queryState(
            StateStatement("SELECT id, account_type, tokens, version, data, callback_state FROM accounts WHERE id = ?", [.text(id)]))
        return rows.first.map { row in
            Summary(
                id: row.text(0) ?? "", accountType: row.text(1) ?? "", tokens: row.integer(2) ?? 0, version: row.integer(3) ?? 0,
                data: row.text(4), callback: row.text(5) ?? "")
        }
    }

    /// The account with the most tokens of each type (the smallest id on a tie), by type.
    func topByType() async throws -> [Top] {
        let rows = try await state.queryState(
            StateStatement(
                """
                SELECT account_type, id, tokens, version FROM (SELECT account_type, id, tokens, version, \
                ROW_NUMBER() OVER (PARTITION BY account_type ORDER BY tokens DESC, id) AS rank FROM accounts) ranked \
                WHERE rank = 1 ORDER BY account_type
                """))
        return rows.map { row in
            Top(accountType: row.text(0) ?? "", id: row.text(1) ?? "", tokens: row.integer(2) ?? 0, version: row.integer(3) ?? 0)
        }
    }
}
