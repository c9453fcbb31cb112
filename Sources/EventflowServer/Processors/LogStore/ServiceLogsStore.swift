import EventflowCore
import EventflowLog

/// The `log-store` processor's tables: `service_logs` (every stored line) and
/// `service_severity` (lines per service and severity, kept in the same transaction so the
/// two always agree). Their schema, the statements the step commits and the read API's
/// queries live here only.
struct ServiceLogsStore {
    static let schema = [
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

    /// One stored log line.
    struct Line: Sendable {
        var offset: Int64
        var service: String
        var severity: String
        /// The event's `timestamp` as sent (a string, or a number's JSON text).
        var timestamp: String
        var eventTimeMs: Int64?
        var payload: String
        var acceptedAtMs: Int64
    }

    /// Counts are kept per service and severity.
    struct SeverityKey: Hashable, Sendable {
        var service: String
        var severity: String
    }

    let state: any ProcessorStateStore

    /// Statements that store `lines` and add `counts` to the per-severity counts.
    static func store(_ lines: [Line], counts: [SeverityKey: Int64]) -> [StateStatement] {
        StateStatement.insertRows(
            "INSERT INTO service_logs (event_offset, service_name, severity, timestamp, event_time_ms, payload, accepted_at_ms)",
            rows: lines.map { line in
                [
                    .integer(line.offset), .text(line.service), .text(line.severity), .text(line.timestamp),
                    line.eventTimeMs.map(StateValue.integer) ?? .null, .text(line.payload), .integer(line.acceptedAtMs),
                ]
            })
            + StateStatement.insertRows(
                "INSERT INTO service_severity (service_name, severity, count)",
                rows: counts.map { [.text($0.key.service), .text($0.key.severity), .integer($0.value)] },
                tail: "ON CONFLICT (service_name, severity) DO UPDATE SET count = service_severity.count + excluded.count")
    }

    /// Lines per severity of `service`, or of all services together when nil.
    func severityCounts(service: String?) async throws -> [String: Int64] {
        let rows: [StateRow]
        if let service {
            rows = try await state.queryState(StateStatement("SELECT severity, count FROM service_severity WHERE service_name = ?", [.text(service)]))
        } else {
            rows = try await state.queryState(StateStatement("SELECT severity, SUM(count) FROM service_severity GROUP BY severity"))
        }
        var counts: [String: Int64] = [:]
        for row in rows {
            if let severity = row.text(0) { counts[severity] = row.integer(1) ?? 0 }
        }
        return counts
    }

    /// The newest `limit` lines, of one service and one severity when given, newest first.
    func latest(service: String?, severity: String?, limit: Int) async throws -> [Line] {
        var conditions: [String] = []
        var binds: [StateValue] = []
        if let service {
            conditions.append("service_name = ?")
            binds.append(.text(service))
        }
        if let severity {
            conditions.append("severity = ?")
            binds.append(.text(severity))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try await state.queryState(
            StateStatement(
                """
                SELECT event_offset, service_name, severity, timestamp, event_time_ms, payload, accepted_at_ms FROM service_logs\(filter) \
                ORDER BY event_offset DESC LIMIT ?
                """,
                binds + [.integer(Int64(limit))]))
        return rows.map { row in
            Line(
                offset: row.integer(0) ?? 0, service: row.text(1) ?? "", severity: row.text(2) ?? "", timestamp: row.text(3) ?? "",
                eventTimeMs: row.integer(4), payload: row.text(5) ?? "", acceptedAtMs: row.integer(6) ?? 0)
        }
    }
}
