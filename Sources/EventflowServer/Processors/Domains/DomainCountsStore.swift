import EventflowCore
import EventflowLog

/// The `domains` processor's table, `domain_counts`: deliveries and bounces per domain.
/// Its schema, the statements the step commits and the read API's query live here only.
struct DomainCountsStore {
    static let schema = [
        "CREATE TABLE IF NOT EXISTS domain_counts (domain TEXT PRIMARY KEY, delivered BIGINT NOT NULL, bounced BIGINT NOT NULL)"
    ]

    let state: any ProcessorStateStore

    /// Statements that add `deltas` to each domain's counts (one upsert per chunk of domains).
    static func add(_ deltas: [String: (delivered: Int64, bounced: Int64)]) -> [StateStatement] {
        StateStatement.insertRows(
            "INSERT INTO domain_counts (domain, delivered, bounced)",
            rows: deltas.map { [.text($0.key), .integer($0.value.delivered), .integer($0.value.bounced)] },
            tail: "ON CONFLICT (domain) DO UPDATE SET delivered = domain_counts.delivered + excluded.delivered, bounced = domain_counts.bounced + excluded.bounced")
    }

    /// The committed counts of `domain` (lower-cased), zero when none came yet.
    func counts(of domain: String) async throws -> (delivered: Int64, bounced: Int64) {
        let rows = try await state.queryState(StateStatement("SELECT delivered, bounced FROM domain_counts WHERE domain = ?", [.text(domain)]))
        return (rows.first?.integer(0) ?? 0, rows.first?.integer(1) ?? 0)
    }
}
