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
        var counts: [String: Int64] = Dictionary(uniqueKeysWithValues: LogStoreStep.severities.map { ($0, 0) })
        counts.merge(try await ServiceLogsStore(state: state).severityCounts(service: service)) { _, stored in stored }
        return JSONResponse.make(.ok, ["service": service ?? NSNull(), "counts": counts])
    }

    /// `{"logs": [{"offset", "service_name", "severity", "timestamp", "payload", "accepted_at_ms"}]}`, newest first.
    private func latest(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...Self.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(Self.maxLimit)", field: "limit")
        }
        let severity = query["severity"].map(String.init)
        if let severity, !LogStoreStep.severities.contains(severity) {
            return JSONResponse.error(.badRequest, "'severity' must be one of \(LogStoreStep.severities.joined(separator: ", "))", field: "severity")
        }
        let lines = try await ServiceLogsStore(state: state).latest(service: query["service"].map(String.init), severity: severity, limit: limit)
        let logs = lines.map { line -> [String: any Sendable] in
            [
                "offset": line.offset, "service_name": line.service, "severity": line.severity,
                "timestamp": line.timestamp, "payload": line.payload, "accepted_at_ms": line.acceptedAtMs,
            ]
        }
        return JSONResponse.make(.ok, ["logs": logs])
    }
}
