import Foundation

/// The checks of `smoke-test`, against a running system.
public struct SmokeChecks: Sendable {
    /// Metric names every Eventflow must expose (DESIGN.md).
    public static let requiredMetrics = [
        "eventflow_ingest_requests_total", "eventflow_ingest_events_total", "eventflow_ingest_request_duration_seconds_bucket",
        "eventflow_log_append_duration_seconds_bucket", "eventflow_ingest_peak_events_per_second",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds",
    ]

    let probe: HTTPProbe

    public init(probe: HTTPProbe) {
        self.probe = probe
    }

    public func run() async -> CheckReport {
        var report = CheckReport()
        await report.check("healthz") {
            let response = try await probe.get("/healthz")
            return (response.status == 200, "GET /healthz → \(response.status)")
        }
        await report.check("readyz") {
            let response = try await probe.get("/readyz")
            return (response.status == 200, "GET /readyz → \(response.status) \(response.text)")
        }
        await report.check("metrics") {
            let response = try await probe.get("/metrics")
            let samples = try PrometheusText.parse(response.text)
            let names = Set(samples.map(\.name))
            let missing = Self.requiredMetrics.filter { !names.contains($0) }
            return (
                response.status == 200 && missing.isEmpty,
                missing.isEmpty ? "\(samples.count) samples, all required names present" : "missing: \(missing.joined(separator: ", "))"
            )
        }
        let run = UUID().uuidString.prefix(8)
        for stream in SampleEvents.streams {
            await report.check("stream \(stream)") {
                let id = "smoke-\(run)-\(stream)"
                let event = SampleEvents.event(stream: stream, id: id)!
                let accepted = try await probe.post("/v1/streams/\(stream)/events", body: Array(event.utf8))
                guard accepted.status == 202, let offset = accepted.json?["first_offset"] as? Int else {
                    return (false, "POST → \(accepted.status) \(accepted.text)")
                }
                let read = try await probe.get("/v1/streams/\(stream)/events?from=\(offset)&limit=1")
                let stored = (read.json?["events"] as? [[String: Any]])?.first?["id"] as? String
                return (stored == id, "202 at offset \(offset); read back id \(stored ?? "nothing")")
            }
        }
        await report.check("bad request gets 4xx") {
            let response = try await probe.post("/v1/streams/frames/events", body: Array(#"{"uid":7,"ts":1}"#.utf8))
            let field = response.json?["field"] as? String
            return (response.status == 400 && field == "uid", "POST frames with a numeric uid → \(response.status), field \(field ?? "none")")
        }
        return report
    }
}
