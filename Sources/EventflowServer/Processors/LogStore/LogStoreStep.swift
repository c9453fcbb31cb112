import EventflowCore
import EventflowLog

/// The `log-store` processor: stores log lines in `service_logs` and keeps
/// `service_severity` (lines per service and severity) in the same transaction, so the
/// two always agree.
struct LogStoreStep: ProcessorStep {
    static let name = "log-store"
    static let stream = "logs"
    static let severities = ["debug", "info", "warn", "error", "fatal"]
    static let fields = TopLevelFields(["severity", "payload", "timestamp"])

    var name: String { Self.name }
    var stream: String { Self.stream }
    var readsBodies: Bool { true }
    var schema: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS service_logs (event_offset BIGINT PRIMARY KEY, service_name TEXT NOT NULL, severity TEXT NOT NULL, \
            timestamp TEXT NOT NULL, event_time_ms BIGINT, payload TEXT NOT NULL, accepted_at_ms BIGINT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS service_logs_by_service ON service_logs (service_name, event_offset)",
            """
            CREATE TABLE IF NOT EXISTS service_severity (service_name TEXT NOT NULL, severity TEXT NOT NULL, count BIGINT NOT NULL, \
            PRIMARY KEY (service_name, severity))
            """,
        ]
    }

    private var rows: [[StateValue]] = []
    private var counts: [SeverityKey: Int64] = [:]

    struct SeverityKey: Hashable {
        var service: String
        var severity: String
    }

    mutating func recover(from state: any ProcessorStateStore) async throws {}

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        for event in events {
            guard let service = event.key,
                let fields = event.body.withUnsafeReadableBytes({ Self.fields.decode($0) }),
                let severity = fields["severity"]?.string, let payload = fields["payload"]?.string, let timestamp = fields["timestamp"]
            else { continue }
            rows.append([
                .integer(event.offset), .text(service), .text(severity), .text(timestamp.string ?? timestamp.jsonText),
                event.eventTimeMs.map(StateValue.integer) ?? .null, .text(payload), .integer(event.acceptedAtMs),
            ])
            counts[SeverityKey(service: service, severity: severity), default: 0] += 1
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        defer {
            rows.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
        }
        return StateStatement.insertRows(
            "INSERT INTO service_logs (event_offset, service_name, severity, timestamp, event_time_ms, payload, accepted_at_ms)", rows: rows)
            + StateStatement.insertRows(
                "INSERT INTO service_severity (service_name, severity, count)",
                rows: counts.map { [.text($0.key.service), .text($0.key.severity), .integer($0.value)] },
                tail: "ON CONFLICT (service_name, severity) DO UPDATE SET count = service_severity.count + excluded.count")
    }

    mutating func didCommit() {}
}
