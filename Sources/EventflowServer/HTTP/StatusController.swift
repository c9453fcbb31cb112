import EventflowLog
import Hummingbird

/// Liveness, readiness and metrics: the routes orchestrators and Prometheus poll.
struct StatusController<Context: RequestContext>: Sendable {
    let log: any EventLog
    /// The metrics `/metrics` renders; nil when they are served on a port of their own.
    let metrics: ServerMetrics?

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(.ok, ["status": "ok"])
        }
        router.get("/readyz") { _, _ in
            let health = log.health
            if health.isReady { return JSONResponse.make(.ok, ["ready": true, "saturation": health.saturation]) }
            let reason = health.writable ? "the log is saturated" : "the log is not writable: \(health.lastError ?? "unknown error")"
            return JSONResponse.make(.serviceUnavailable, ["ready": false, "reason": reason, "saturation": health.saturation])
        }
        var paths: [RouterPath] = ["/healthz", "/readyz"]
        if let metrics {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
            }
            paths.append("/metrics")
        }
        for path in paths {
            router.methodNotAllowed(path, allowed: [.get])
        }
    }
}
