import EventflowCore
import Foundation

/// The steps the per-workload scenarios share: send seeded events in order, SIGKILL and
/// restart the server between two halves, and wait until the processor's output matches
/// what the scenario computed itself from what it sent.
struct WorkloadRun {
    let context: ScenarioContext
    let system: SystemUnderTest
    var probe: HTTPProbe { HTTPProbe(baseURL: system.systemURL, timeout: .seconds(10)) }
    var evidence: [String] = []

    /// Sends `lines` to `stream` as NDJSON batches, one request at a time so the log keeps
    /// the order sent; every batch must be acknowledged.
    mutating func send(_ lines: ArraySlice<String>, to stream: String, batch: Int = 500) async throws {
        var start = lines.startIndex
        while start < lines.endIndex {
            let end = min(start + batch, lines.endIndex)
            let body = lines[start..<end].joined(separator: "\n")
            let response = try await probe.post("/v1/streams/\(stream)/events", body: Array(body.utf8), contentType: "application/x-ndjson")
            guard response.status == 202 else { throw SpawnError("\(stream): a batch got \(response.status): \(response.text.prefix(200))") }
            start = end
        }
    }

    /// Kills the server (SIGKILL, or the kill command) right after a half was acknowledged,
    /// usually while the processor still works through it, and restarts it on the same data.
    mutating func killAndRestart(processor: String, acknowledged: Int) async throws {
        let metrics = (try? PrometheusText.parse(try await probe.get("/metrics").text)) ?? []
        let processed = metrics.value("eventflow_processor_events_total", ["processor": processor]) ?? 0
        let killed = try await system.killServer()
        let restarted = try await system.restartKilledServer(binary: context.binary ?? SpawnedServer.defaultBinary)
        evidence.append("\(killed) with \(acknowledged) events acknowledged and \(Int(processed)) processed by \(processor) since its start; \(restarted)")
    }

    /// Checks until `check` returns no mismatches or `timeout` passes; passes when it did.
    mutating func settle(timeout: Duration = .seconds(60), _ check: () async throws -> [String]) async throws -> Bool {
        let started = ContinuousClock.now
        var mismatches: [String] = []
        while ContinuousClock.now - started < timeout {
            mismatches = try await check()
            if mismatches.isEmpty {
                evidence.append("output matched the expected results \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s after the last batch")
                return true
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        evidence.append("after \(timeout): \(mismatches.count) mismatches, first: " + mismatches.prefix(5).joined(separator: "; "))
        return false
    }

}

extension ScenarioContext {
    /// The run every workload scenario makes: a fresh system without delivery (or the one
    /// given), the first half of `lines` sent to `stream`, a kill and restart, the second half, then
    /// `check` (given the system's API and the system) until it reports no mismatches.
    func runWorkload(
        stream: String, processor: String, lines: [String], batch: Int = 500, description: String,
        check: @escaping (HTTPProbe, SystemUnderTest) async throws -> [String]
    ) async throws -> ScenarioResult {
        try await withSystem(serveArguments: ["--no-delivery"]) { system in
            var run = WorkloadRun(context: self, system: system)
            let half = lines.count / 2
            try await run.send(lines[..<half], to: stream, batch: batch)
            try await run.killAndRestart(processor: processor, acknowledged: half)
            try await run.send(lines[half...], to: stream, batch: batch)
            let api = run.probe
            let passed = try await run.settle { try await check(api, system) }
            return ScenarioResult(passed: passed, evidence: [description] + run.evidence)
        }
    }
}

extension HTTPProbe {
    /// GETs `path` and returns its JSON object (empty when the answer is not one).
    func object(_ path: String) async throws -> [String: Any] {
        try await get(path).json ?? [:]
    }
}

