import Foundation
import EventflowLog
import Hummingbird

/// The `log-store` read API: counts per severity, and the latest lines.
struct LogStoreController<Context: RequestContext>: Sendable {
    static var maxLimit: Int { 1000 }
    let state: any ProcessorStateStore

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/logs/severity") { request, _ in
            try await severity(service: request.uri.queryParameters["service"].map(String.init))
        }
        router.get("/v1/logs") { request, _ in
            try await latest(request)
        }
    }

    /// `{"service": "…", "counts": {"debug": 0, …}}`; without `service`, the totals of all services (`"service": null`).
    private func severity(service: String?) async throws -> Response {
        let rows: [StateRow]
        if let service {
            rows = try await state.queryState(StateStatement("SELECT severity, count FROM service_severity WHERE service_name = ?", [.text(service)]))
        } else {
            rows = try await state.queryState(StateStatement("SELECT severity, SUM(count) FROM service_severity GROUP BY severity"))
        }
        var counts: [String: Int64] = Dictionary(uniqueKeysWithValues: LogStoreStep.severities.map { ($0, 0) })
        for row in rows {
            if let severity = row.text(0) { counts[severity] = row.integer(1) ?? 0 }
        }
        return JSONResponse.make(.ok, ["service": service ?? NSNull(), "counts": counts])
    }

    /// `{"logs": [{"offset", "service_name", "severity", "timestamp", "payload", "accepted_at_ms"}]}`, newest first.
    private func latest(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...Self.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(Self.maxLimit)", field: "limit")
        }
        var conditions: [String] = []
        var binds: [StateValue] = []
        if let service = query["service"] {
            conditions.append("service_name = ?")
            binds.append(.text(String(service)))
        }
        if let severity = query["severity"].map(String.init) {
            guard LogStoreStep.severities.contains(severity) else {
                return JSONResponse.error(.badRequest, "'severity' must be one of \(LogStoreStep.severities.joined(separator: ", "))", field: "severity")
            }
            conditions.append("severity = ?")
            binds.append(.text(severity))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let rows = try await state.queryState(
            StateStatement(
                "SELECT event_offset, service_name, severity, timestamp, payload, accepted_at_ms FROM service_logs\(filter) ORDER BY event_offset DESC LIMIT ?",
                binds + [.integer(Int64(limit))]))
        let logs = rows.map { row -> [String: any Sendable] in
            [
                "offset": row.integer(0) ?? 0, "service_name": row.text(1) ?? "", "severity": row.text(2) ?? "",
                "timestamp": row.text(3) ?? "", "payload": row.text(4) ?? "", "accepted_at_ms": row.integer(5) ?? 0,
            ]
        }
        return JSONResponse.make(.ok, ["logs": logs])
    }
}
