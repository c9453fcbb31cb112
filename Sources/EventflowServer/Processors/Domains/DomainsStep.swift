import EventflowCore
import EventflowLog

/// The `domains` processor: counts deliveries and bounces per domain on disk.
///
/// Each batch is folded into one delta per domain and added to the table with one
/// upsert per chunk, so memory holds only the current batch, whatever the number of domains.
struct DomainsStep: ProcessorStep {
    static let name = "domains"
    static let stream = "domains"
    static let table = "domain_counts"
    static let fields = TopLevelFields(["type"])

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { true }
    var schema: [String] {
        ["CREATE TABLE IF NOT EXISTS \(Self.table) (domain TEXT PRIMARY KEY, delivered BIGINT NOT NULL, bounced BIGINT NOT NULL)"]
    }

    private var deltas: [String: (delivered: Int64, bounced: Int64)] = [:]

    mutating func recover(from state: any ProcessorStateStore) async throws {}

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        for event in events {
            guard let domain = event.key else { continue }
            let type = event.body.withUnsafeReadableBytes { Self.fields.decode($0)?["type"]?.string }
            switch type {
            case "delivered": deltas[domain, default: (0, 0)].delivered += 1
            case "bounced": deltas[domain, default: (0, 0)].bounced += 1
            default: continue
            }
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        defer { deltas.removeAll(keepingCapacity: true) }
        return StateStatement.insertRows(
            "INSERT INTO \(Self.table) (domain, delivered, bounced)",
            rows: deltas.map { [.text($0.key), .integer($0.value.delivered), .integer($0.value.bounced)] },
            tail: "ON CONFLICT (domain) DO UPDATE SET delivered = \(Self.table).delivered + excluded.delivered, bounced = \(Self.table).bounced + excluded.bounced")
    }

    mutating func didCommit() {}

    /// The counts and status of `domain` (lower-cased), from committed state.
    static func lookup(_ domain: String, state: any ProcessorStateStore) async throws -> (delivered: Int64, bounced: Int64, status: DomainStatus) {
        let rows = try await state.queryState(StateStatement("SELECT delivered, bounced FROM \(table) WHERE domain = ?", [.text(domain)]))
        let delivered = rows.first?.integer(0) ?? 0
        let bounced = rows.first?.integer(1) ?? 0
        return (delivered, bounced, DomainStatus(delivered: delivered, bounced: bounced))
    }
}
