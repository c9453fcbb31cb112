import Foundation

/// A target and a callback receiver that answer as a hostile peer would (an absurd
/// `Retry-After`, headers then silence, a 64 MiB body, a connection dropped mid-answer):
/// everything acknowledged is still delivered, every callback fires, the system stays ready
/// and its memory does not take the huge bodies in. A spawned system honours a Retry-After
/// for 2 s at most; a given one for its own `--max-retry-after`, which bounds how long this takes.
struct HostilePeerScenario: BehaviourScenario {
    let name = "hostile-peer"
    let summary = "target and callback receiver answer 15 % of requests with Retry-After 1e16, stalled bodies, 64 MiB bodies or drops: all delivered, all callbacks fired"

    static let events = 1_500
    static let accounts = 100
    /// How long the spawned system honours a Retry-After at most, so that the absurd ones end within the run.
    static let maxRetryAfter = "2s"
    /// The longest a given system may honour one for the scenario to run against it.
    static let longestRetryAfter: Double = 10
    /// The ways the reference target answers with `--hostile-rate` (docs/reference-target.md).
    static let hostileKinds = ["absurd_retry_after", "stall_after_headers", "huge_body", "reset"]

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(
            serveArguments: ["--max-retry-after", Self.maxRetryAfter, "--target-timeout-ms", "2000", "--retry-max-ms", "1000"]
        ) { system in
            let probe = HTTPProbe(baseURL: system.systemURL)
            let client = EventsClient(system: probe)
            let target = TargetClient(system)
            let settings = try await DeliverySettings.read(from: probe)
            guard settings.maxRetryAfter <= Self.longestRetryAfter else {
                return .skipped(
                    "the system honours a Retry-After for up to \(Int(settings.maxRetryAfter)) s, and the hostile target sends absurd ones: "
                        + "start it with --max-retry-after \(Int(Self.longestRetryAfter))s or less for hostile-peer to finish")
            }
            let started = ContinuousClock.now
            let accountIDs = context.ids("hostile-acct", count: Self.accounts)
            // The target turns hostile over its admin API for the run, and back after.
            let (sent, accountsAccepted, missing, callbacksMissing) = try await target.withFaults(#"{"hostile_rate":0.15,"timeout_hold_ms":20000}"#) {
                // One batch at a time: every event must be acknowledged, also by a system with a
                // small pending limit (back-pressure's 50), which would refuse batches sent at once.
                let sent = await client.send(context.ids("hostile", count: Self.events), concurrency: 1)
                let accounts = accountIDs.map { #"{"id":"\#($0)","accountType":"mint","tokens":1,"callbackTimeMs":0,"version":1}"# }
                let accountsAccepted = try await probe.post(
                    "/v1/streams/accounts/events", body: Array(accounts.joined(separator: "\n").utf8), contentType: "application/x-ndjson"
                ).status == 202
                let acknowledged = sent.acknowledged.withLock { $0 }
                let missing = try await target.waitForDelivery(of: acknowledged, stall: .seconds(120))
                let callbacksMissing = try await Self.waitForCallbacks(accountIDs.map { "\($0):1" }, target: target.target, timeout: .seconds(120))
                return (sent, accountsAccepted, missing, callbacksMissing)
            }
            var evidence: [String] = []
            let acknowledged = sent.acknowledged.withLock { $0 }
            let ready = (try? await probe.get("/readyz").status) == 200
            let metrics = (try? PrometheusText.parse(try await probe.get("/metrics").text)) ?? []
            let targetMetrics = (try? PrometheusText.parse(try await HTTPProbe(baseURL: system.targetURL!).get("/metrics").text)) ?? []
            let residentMiB = (metrics.value("process_resident_memory_bytes") ?? 0) / 1_048_576
            let kinds = Self.hostileKinds.map { kind in (kind, Self.sum(targetMetrics, "eventflow_target_hostile_answers_total", ["kind": kind])) }
            let clamped = Self.sum(metrics, "eventflow_peer_retry_after_clamped_total", [:])
            evidence.append(
                "acknowledged \(acknowledged.count) of \(Self.events) events, lost \(missing.count); callbacks of \(Self.accounts) accounts not fired: \(callbacksMissing.count)")
            evidence.append("hostile answers: " + kinds.map { "\($0.0) \(Int($0.1))" }.joined(separator: ", ") + "; Retry-After clamped \(Int(clamped)) times")
            evidence.append(String(format: "ready at the end: %@; resident memory %.0f MiB; took %.0f s", ready ? "yes" : "no", residentMiB, (ContinuousClock.now - started).seconds))
            if !missing.isEmpty { evidence.append("never delivered: \(missing.sorted().prefix(5).joined(separator: ", "))…") }
            if !callbacksMissing.isEmpty { evidence.append("callbacks never fired: \(callbacksMissing.sorted().prefix(5).joined(separator: ", "))…") }
            // Every kind was seen, and the 64 MiB answers were not taken in (they would pass 256 MiB).
            let passed = acknowledged.count == Self.events && accountsAccepted && missing.isEmpty && callbacksMissing.isEmpty && ready
                && kinds.allSatisfy { $0.1 > 0 } && clamped > 0 && residentMiB < 256
            return ScenarioResult(passed: passed, evidence: evidence)
        }
    }

    static func sum(_ samples: [PrometheusSample], _ name: String, _ labels: [String: String]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    /// Waits until the target's callback ledger holds every key as delivered; returns those still missing.
    static func waitForCallbacks(_ keys: [String], target: HTTPProbe, timeout: Duration) async throws -> Set<String> {
        let deadline = ContinuousClock.now + timeout
        var missing = Set(keys)
        while true {
            var fired: Set<String> = []
            try await target.forEachLine("/callbacks/ledger") { line in
                if let id = PerformanceRun.field(line, "id"), PerformanceRun.field(line, "first_delivered_at_ms") != nil { fired.insert(String(id)) }
            }
            missing.subtract(fired)
            if missing.isEmpty || ContinuousClock.now >= deadline { return missing }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
