import EventflowCore
import EventflowLog

/// The `domains` processor: counts deliveries and bounces per domain on disk.
///
/// Each batch is folded into one delta per domain and added to the table with one
/// upsert per chunk, so memory holds only the current batch, whatever the number of domains.
struct DomainsStep: ProcessorStep {
    static let name = "domains"
    static let stream = "domains"
    static let fields = TopLevelFields(["type"])

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { true }
    var schema: [String] { DomainCountsStore.schema }

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
        return DomainCountsStore.add(deltas)
    }

    mutating func didCommit() {}
}
