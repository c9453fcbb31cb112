import EventflowCore
import Foundation
import Synchronization

/// Checks that every id the client had acknowledged reached the target.
private func verifyDelivered(
    _ acknowledged: Set<String>, target: TargetClient, timeout: Duration = .seconds(60), evidence: inout [String]
) async throws -> Bool {
    let missing = try await target.waitForDelivery(of: acknowledged, timeout: timeout)
    let summary = try await target.summary()
    evidence.append(
        "acknowledged \(acknowledged.count), lost \(missing.count), target: unique \(summary["unique"] ?? 0), duplicates \(summary["duplicates"] ?? 0), "
            + "errors injected \(summary["errors_injected"] ?? 0), throttled \(summary["throttled"] ?? 0)")
    if !missing.isEmpty { evidence.append("never delivered: \(missing.sorted().prefix(5).joined(separator: ", "))…") }
    return missing.isEmpty
}

/// Sends 2,000 events while the target runs with `faults` for 3 s, clears them, and checks
/// that everything acknowledged is delivered.
private func deliveredThroughFaults(
    _ faults: String, cleared: String, name: String, description: String, context: ScenarioContext, system: SystemUnderTest
) async throws -> ScenarioResult {
    let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
    let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
    try await target.setFaults(faults)
    let sent = await client.send(context.ids(name, count: 2_000))
    try await Task.sleep(for: .seconds(3))
    try await target.setFaults(cleared)
    var evidence = [description]
    let passed = try await verifyDelivered(sent.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
    let injected = try await target.summary()["errors_injected", default: 0]
    return ScenarioResult(passed: passed && injected > 0, evidence: evidence)
}

/// SIGKILL of `eventflow serve` under load, restart on the same data directory: nothing acknowledged is lost.
struct CrashScenario: BehaviourScenario {
    let name = "crash"
    let summary = "SIGKILL under load, restart on the same data directory: every acknowledged event is still delivered"
    let needsSpawn = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            guard let server = system.server else { throw SpawnError("needs --spawn") }
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL, timeout: .seconds(5)))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let acknowledgements = EventsClient.Acknowledgements()
            let ids = context.ids("crash", count: 20_000)
            let load = Task { await client.send(ids, batch: 50, concurrency: 8, into: acknowledgements) }
            while acknowledgements.acknowledged.withLock({ $0.count }) < 3_000 {
                try await Task.sleep(for: .milliseconds(10))
            }
            server.send(SIGKILL)
            _ = try await server.waitForExit()
            let atKill = acknowledgements.acknowledged.withLock { $0.count }
            let restarted = try await system.restartServer(binary: context.binary ?? SpawnedServer.defaultBinary)
            _ = await load.value
            var evidence = ["killed pid \(server.process.processIdentifier) with \(atKill) events acknowledged; restarted as pid \(restarted.process.processIdentifier)"]
            let passed = try await verifyDelivered(acknowledgements.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
            return ScenarioResult(passed: passed, evidence: evidence)
        }
    }
}

/// Twenty SIGKILLs at random moments under steady load, each followed by a restart on the
/// same data directory: nothing acknowledged is lost, and the duplicates the crashes cost are
/// counted.
struct CrashLoopScenario: BehaviourScenario {
    let name = "crash-loop"
    let summary = "20 SIGKILLs at random moments under load, a restart after each: lost 0, duplicates reported"
    let needsSpawn = true
    static let kills = 20

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            guard system.server != nil else { throw SpawnError("needs --spawn") }
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL, timeout: .seconds(5)))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let acknowledgements = EventsClient.Acknowledgements()
            let stop = Atomic(false)
            // About 2,500 events a second, steady: enough to be mid-commit at every kill, few
            // enough for delivery to keep up between restarts.
            let load = Task {
                var round = 0
                while !stop.load(ordering: .relaxed) {
                    _ = await client.send(context.ids("loop\(round)", count: 250), batch: 25, concurrency: 2, into: acknowledgements)
                    round += 1
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return round * 250
            }
            var random = SplitMix64(seed: 20)
            var restarts = 0
            for _ in 0..<Self.kills {
                try await Task.sleep(for: .milliseconds(200 + Int64(random.next() % 1_300)))
                guard let server = system.server else { break }
                server.send(SIGKILL)
                _ = try await server.waitForExit()
                _ = try await system.restartServer(binary: context.binary ?? SpawnedServer.defaultBinary)
                restarts += 1
            }
            try await Task.sleep(for: .milliseconds(500))
            stop.store(true, ordering: .relaxed)
            let sent = await load.value
            let acknowledged = acknowledgements.acknowledged.withLock { $0 }
            var evidence = [
                "\(restarts) SIGKILLs and restarts under load; \(sent) events sent, \(acknowledged.count) acknowledged, "
                    + "\(sent - acknowledged.count) refused or unanswered while the server was down"
            ]
            let passed = try await verifyDelivered(acknowledged, target: target, timeout: .seconds(120), evidence: &evidence)
            return ScenarioResult(passed: passed && restarts == Self.kills, evidence: evidence)
        }
    }
}

/// The target fails every request for a while, then recovers: everything is delivered.
struct TargetOutageScenario: BehaviourScenario {
    let name = "target-outage"
    let summary = "the target answers 5xx to everything for 3 s, then recovers: everything acknowledged is delivered"
    let needsSpawn = false

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            try await deliveredThroughFaults(
                #"{"error_rate":1}"#, cleared: #"{"error_rate":0}"#, name: "outage",
                description: "target failed every request for 3 s while 2,000 events were sent", context: context, system: system)
        }
    }
}

/// Half the requests fail and some hang past the timeout: everything is delivered.
struct ErrorBurstScenario: BehaviourScenario {
    let name = "error-burst"
    let summary = "a burst of 50 % errors and 5 % timeouts: everything acknowledged is delivered"
    let needsSpawn = false

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--target-timeout-ms", "1000", "--retry-max-ms", "1000"]) { system in
            try await deliveredThroughFaults(
                #"{"error_rate":0.5,"timeout_rate":0.05,"timeout_hold_ms":1500}"#, cleared: #"{"error_rate":0,"timeout_rate":0}"#, name: "burst",
                description: "target failed 50 % and held 5 % past the 1 s timeout for 3 s", context: context, system: system)
        }
    }
}

/// With the limiter set to the target's limit, the target never throttles and is used to at least 95 %.
struct RateLimitScenario: BehaviourScenario {
    let name = "rate-limit"
    let summary = "delivery set to the target's limit (300/s, burst 30) is never throttled and uses at least 95 % of it"
    let needsSpawn = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(
            targetArguments: ["--rate", "300", "--burst", "30"], serveArguments: ["--target-rate", "300", "--target-burst", "30"]
        ) { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let sent = await client.send(context.ids("rate", count: 3_000))
            var evidence: [String] = []
            let delivered = try await verifyDelivered(sent.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
            let times = try await target.ledger().values.compactMap(\.firstDeliveredAtMs).sorted()
            let rate = times.count > 30 ? Double(times.count - 30) / (Double(times.last! - times.first!) / 1000) : 0
            let throttled = try await target.summary()["throttled", default: -1]
            evidence.append(String(format: "delivered at %.1f/s against a limit of 300/s (%.1f %%); throttled %d", rate, rate / 3, throttled))
            return ScenarioResult(passed: delivered && throttled == 0 && rate >= 285 && rate <= 300, evidence: evidence)
        }
    }
}

/// The client sends every event twice (a retry): each is applied once by the idempotent target.
struct DuplicateSendsScenario: BehaviourScenario {
    let name = "duplicate-sends"
    let summary = "every event sent twice with the same id is delivered, and applied once in effect"
    let needsSpawn = false

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let ids = context.ids("dup", count: 1_000)
            let first = await client.send(ids)
            _ = await client.send(ids, into: first)
            var evidence = ["sent 1,000 ids twice"]
            let delivered = try await verifyDelivered(first.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
            let ledger = try await target.ledger()
            let applied = ids.filter { ledger[$0]?.firstDeliveredAtMs != nil }.count
            let twice = ids.filter { (ledger[$0]?.deliveries ?? 0) > 1 }.count
            evidence.append("ids applied: \(applied) of 1,000; ids the target saw more than once (answered as duplicates): \(twice)")
            return ScenarioResult(passed: delivered && applied == 1_000, evidence: evidence)
        }
    }
}

/// One event fails for longer than the ordering window: later events stop overtaking it once it has been pending for the window.
struct OrderingWindowScenario: BehaviourScenario {
    let name = "ordering-window"
    let summary = "an event failing for 3 s with a 1 s ordering window is overtaken only by events sent in its first second"
    let needsSpawn = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--ordering-window", "1", "--target-concurrency", "4", "--target-rate", "200", "--target-burst", "10"]) {
            system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let stuck = context.ids("stuck", count: 1)[0]
            try await target.setFaults(#"{"fail_ids_prefix":"stuck-","fail_ids_for_seconds":3}"#)
            let head = await client.send([stuck], concurrency: 1)
            let rest = await client.send(context.ids("later", count: 600), batch: 100, concurrency: 1)
            var evidence: [String] = []
            let acknowledged = head.acknowledged.withLock { $0 }.union(rest.acknowledged.withLock { $0 })
            let delivered = try await verifyDelivered(acknowledged, target: target, evidence: &evidence)
            let ledger = try await target.ledger()
            guard let stuckEntry = ledger[stuck], let stuckDelivered = stuckEntry.firstDeliveredAtMs else {
                return ScenarioResult(passed: false, evidence: evidence + ["the stuck event was not delivered"])
            }
            let overtaking = ledger.filter { $0.key != stuck && $0.key.hasPrefix("later-") && ($0.value.firstDeliveredAtMs ?? .max) < stuckDelivered }
            let latestStart = overtaking.values.map(\.firstAttemptAtMs).max() ?? stuckEntry.firstAttemptAtMs
            let worst = overtaking.values.compactMap(\.firstDeliveredAtMs).min().map { Double(stuckDelivered - $0) / 1000 } ?? 0
            evidence.append(
                String(
                    format: "stuck event delivered %.2f s after its first attempt; %d events overtook it, the last sent %.2f s after it; worst reorder %.2f s",
                    Double(stuckDelivered - stuckEntry.firstAttemptAtMs) / 1000, overtaking.count, Double(latestStart - stuckEntry.firstAttemptAtMs) / 1000, worst))
            let held = Double(latestStart - stuckEntry.firstAttemptAtMs) / 1000 <= 1.1 && overtaking.count < 600
            return ScenarioResult(passed: delivered && held, evidence: evidence)
        }
    }
}

/// A flood beyond the pending limit gets 503 with Retry-After, and loses nothing it acknowledged.
struct BackPressureScenario: BehaviourScenario {
    let name = "back-pressure"
    let summary = "a flood over the pending limit gets 503 with Retry-After; everything acknowledged is delivered, nothing refused is"
    let needsSpawn = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--max-pending-events", "50"]) { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(target: HTTPProbe(baseURL: system.targetURL!))
            let sent = await client.send(context.ids("flood", count: 20_000), batch: 40, concurrency: 48)
            let statuses = sent.statuses.withLock { $0 }
            let refused = sent.refused.withLock { $0 }
            var evidence = ["statuses: " + statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ") + "; 503s with Retry-After: \(sent.retryAfterSeen.withLock { $0 })"]
            let delivered = try await verifyDelivered(sent.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
            let ledger = try await target.ledger()
            let phantom = refused.filter { ledger[$0]?.firstDeliveredAtMs != nil }.count
            evidence.append("refused events that were delivered anyway: \(phantom)")
            let onlyAcceptedOrRefused = statuses.keys.allSatisfy { $0 == 202 || $0 == 503 }
            return ScenarioResult(passed: delivered && phantom == 0 && statuses[503, default: 0] > 0 && sent.retryAfterSeen.withLock { $0 } == statuses[503] && onlyAcceptedOrRefused, evidence: evidence)
        }
    }
}
