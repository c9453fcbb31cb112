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
    var schema: [String] { ServiceLogsStore.schema }

    private var lines: [ServiceLogsStore.Line] = []
    private var counts: [ServiceLogsStore.SeverityKey: Int64] = [:]

    mutating func recover(from state: any ProcessorStateStore) async throws {}

    mutating func apply(_ events: [StoredEvent], state: any ProcessorStateStore) async throws {
        for event in events {
            guard let service = event.key,
                let fields = event.body.withUnsafeReadableBytes({ Self.fields.decode($0) }),
                let severity = fields["severity"]?.string, let payload = fields["payload"]?.string, let timestamp = fields["timestamp"]
            else { continue }
            lines.append(
                ServiceLogsStore.Line(
                    offset: event.offset, service: service, severity: severity, timestamp: timestamp.string ?? timestamp.jsonText,
                    eventTimeMs: event.eventTimeMs, payload: payload, acceptedAtMs: event.acceptedAtMs))
            counts[ServiceLogsStore.SeverityKey(service: service, severity: severity), default: 0] += 1
        }
    }

    mutating func flush(cursor: Int64) -> [StateStatement] {
        defer {
            lines.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
        }
        return ServiceLogsStore.store(lines, counts: counts)
    }

    mutating func didCommit() {}
}
