import Foundation

/// The checks of `smoke-test`, against a running system.
public struct SmokeChecks: Sendable {
    /// Metric names every Eventflow must expose (docs/metrics.md).
    public static let requiredMetrics = [
        "eventflow_ingest_requests_total", "eventflow_ingest_events_total", "eventflow_ingest_request_duration_seconds_bucket",
        "eventflow_log_append_duration_seconds_bucket", "eventflow_ingest_peak_events_per_second",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds",
    ]

    let probe: HTTPProbe
    /// The reference target the system delivers to, when known.
    let target: HTTPProbe?

    public init(probe: HTTPProbe, target: HTTPProbe?) {
        self.probe = probe
        self.target = target
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
                guard stored == id else { return (false, "202 at offset \(offset); read back id \(stored ?? "nothing")") }
                if stream == "events" {
                    guard target != nil else { return (true, "202 at offset \(offset); read back (no target to check delivery)") }
                    return try await reachesTarget(id: id, offset: offset)
                }
                return try await reachesOutput(stream: stream, id: id, offset: offset)
            }
        }
        await report.check("bad request gets 4xx") {
            let response = try await probe.post("/v1/streams/frames/events", body: Array(#"{"uid":7,"ts":1}"#.utf8))
            let field = response.json?["field"] as? String
            return (response.status == 400 && field == "uid", "POST frames with a numeric uid → \(response.status), field \(field ?? "none")")
        }
        return report
    }

    /// Waits up to 10 s for the stream's processor to show the sample event in its read API.
    private func reachesOutput(stream: String, id: String, offset: Int) async throws -> (Bool, String) {
        let seconds = Int(Date().timeIntervalSince1970)
        let (path, description, found): (String, String, ([String: Any]) -> Bool) =
            switch stream {
            case "frames":
                ("/v1/unique-users?from=\(seconds - 7 * 86_400)&to=\(seconds + 1)", "counted by unique-users",
                    { (($0["results"] as? [[String: Any]]) ?? []).contains { $0["frames"] as? Int ?? 0 >= 1 } })
            case "accounts": ("/v1/accounts/\(id)", "indexed by accounts", { $0["version"] as? Int == 1 })
            case "domains": ("/domains/\(id).example", "counted by domains", { $0["delivered"] as? Int == 1 })
            case "logs": ("/v1/logs/severity?service=\(id)", "stored by log-store", { ($0["counts"] as? [String: Int])?["info"] == 1 })
            default: ("", "", { _ in false })
            }
        guard !path.isEmpty else { return (true, "202 at offset \(offset); read back (no processor output to check)") }
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(10) {
            if let json = try await probe.get(path).json, found(json) {
                return (true, "202 at offset \(offset); \(description) after \(ContinuousClock.now - started)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (false, "202 at offset \(offset), but GET \(path) did not show it within 10 s")
    }

    /// Waits up to 10 s for the target's ledger to show `id` delivered.
    private func reachesTarget(id: String, offset: Int) async throws -> (Bool, String) {
        guard let target else { return (false, "no target") }
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(10) {
            let ledger = try await target.get("/ledger")
            if ledger.text.split(separator: "\n").contains(where: { $0.contains("\"id\":\"\(id)\"") && !$0.contains("\"first_delivered_at_ms\":null") }) {
                return (true, "202 at offset \(offset); delivered to the target after \(ContinuousClock.now - started)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (false, "202 at offset \(offset), but the target did not receive it within 10 s")
    }
}
