import Foundation

/// The embedded log on a disk that fills for real (a small tmpfs): requests get 503 and
/// `/readyz` says unready, never a false 202; once space returns the system is ready again
/// by itself; after a restart every acknowledged event is there.
struct DiskFullScenario: BehaviourScenario {
    let name = "disk-full"
    let summary = "a real full disk (a 24 MiB tmpfs; needs root): 503 and unready, no false 202, ready again by itself, every 202 kept across a restart"
    let spawnReason: String? = "it fills a small filesystem of its own"

    static let diskMiB = 24
    static let ballastBytes = 4 << 20
    static let perRequest = 20

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        guard SmallDisk.available else { return .skipped(SmallDisk.unavailableReason) }
        return try await SmallDisk.with(megabytes: Self.diskMiB) { mount in
            let ballast = mount + "/ballast"
            try Data(count: Self.ballastBytes).write(to: URL(fileURLWithPath: ballast))
            return try await context.withSystem(serveArguments: ["--no-delivery"], dataDirectory: mount + "/data") { system in
                try await check(system, ballast: ballast, context: context)
            }
        }
    }

    private func check(_ system: SystemUnderTest, ballast: String, context: ScenarioContext) async throws -> ScenarioResult {
        let probe = HTTPProbe(baseURL: system.systemURL)
        let payload = String(repeating: "p", count: 1_900)
        let ids = context.ids("disk", count: 200_000)
        var acknowledged: [String] = []
        var statuses: [Int: Int] = [:]
        var refused = 0
        var request = 0
        while refused < 3, (request + 1) * Self.perRequest <= ids.count {
            let batch = Array(ids[request * Self.perRequest..<(request + 1) * Self.perRequest])
            request += 1
            let body = batch.map { #"{"service_name":"disk","payload":"\#(payload)","severity":"info","timestamp":1763900000,"id":"\#($0)"}"# }
            let status = (try? await probe.post("/v1/streams/logs/events", body: Array(body.joined(separator: "\n").utf8), contentType: "application/x-ndjson").status) ?? 0
            statuses[status, default: 0] += 1
            if status == 202 { acknowledged += batch } else { refused += 1 }
        }
        let unready = (try? await probe.get("/readyz").status) == 503
        try FileManager.default.removeItem(atPath: ballast)
        // No request from here on: readiness must come back by itself.
        let freed = ContinuousClock.now
        var ready = false
        while !ready, ContinuousClock.now - freed < .seconds(20) {
            try await Task.sleep(for: .milliseconds(250))
            ready = (try? await probe.get("/readyz").status) == 200
        }
        let readyAfter = (ContinuousClock.now - freed).seconds
        guard let server = system.server else { throw SpawnError("needs --spawn") }
        await server.stop()
        let restarted = try await system.restartServer(binary: context.binary ?? SpawnedServer.defaultBinary)
        let stored = try await Self.storedIDs(HTTPProbe(baseURL: restarted.url))
        let missing = acknowledged.filter { !stored.contains($0) }
        let evidence = [
            "\(request) requests of \(Self.perRequest) log events of 2 KB: " + statuses.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", "),
            "unready while full: \(unready ? "yes" : "no"); ready again \(ready ? String(format: "%.1f s after space returned, with no request", readyAfter) : "never (20 s)")",
            "after a restart \(acknowledged.count - missing.count) of \(acknowledged.count) acknowledged events are stored" + (missing.isEmpty ? "" : "; missing \(missing.prefix(3).joined(separator: ", "))…"),
        ]
        let onlyAnswers = statuses.keys.allSatisfy { $0 == 202 || $0 == 503 }
        return ScenarioResult(passed: refused == 3 && onlyAnswers && unready && ready && missing.isEmpty && !acknowledged.isEmpty, evidence: evidence)
    }

    /// Every id in the `logs` stream, read page by page.
    static func storedIDs(_ probe: HTTPProbe) async throws -> Set<String> {
        var ids: Set<String> = []
        var from = 0
        while true {
            let page = try await probe.get("/v1/streams/logs/events?from=\(from)&limit=10000").json
            let events = page?["events"] as? [[String: Any]] ?? []
            guard !events.isEmpty, let next = page?["next_offset"] as? Int else { return ids }
            for event in events { if let id = event["id"] as? String { ids.insert(id) } }
            from = next
        }
    }
}
