import EventflowCore
import Foundation
import Synchronization

/// Checks that every id the client had acknowledged reached the target, waiting as long as
/// deliveries keep coming and `stall` more.
private func verifyDelivered(
    _ acknowledged: Set<String>, target: TargetClient, stall: Duration = .seconds(60), evidence: inout [String]
) async throws -> Bool {
    let started = ContinuousClock.now
    let missing = try await target.waitForDelivery(of: acknowledged, stall: stall)
    let summary = try await target.summary()
    evidence.append(
        "acknowledged \(acknowledged.count), lost \(missing.count), target: unique \(summary["unique"] ?? 0), duplicates \(summary["duplicates"] ?? 0), "
            + "errors injected \(summary["errors_injected"] ?? 0), throttled \(summary["throttled"] ?? 0)")
    if !missing.isEmpty {
        evidence.append(
            String(format: "never delivered (%.0f s, the last %.0f s without progress): ", (ContinuousClock.now - started).seconds, stall.seconds)
                + missing.sorted().prefix(5).joined(separator: ", ") + "…")
    }
    return missing.isEmpty
}

/// Sends 2,000 events while the target runs with `faults` for 3 s, puts its faults back as
/// they were, and checks that everything acknowledged is delivered.
private func deliveredThroughFaults(
    _ faults: String, name: String, description: String, context: ScenarioContext, system: SystemUnderTest
) async throws -> ScenarioResult {
    let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
    let target = TargetClient(system)
    let injectedBefore = try await target.summary()["errors_injected", default: 0]
    let sent = try await target.withFaults(faults) {
        let sent = await client.send(context.ids(name, count: 2_000))
        try await Task.sleep(for: .seconds(3))
        return sent
    }
    var evidence = [description]
    let passed = try await verifyDelivered(sent.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
    let injected = try await target.summary()["errors_injected", default: 0] - injectedBefore
    return ScenarioResult(passed: passed && injected > 0, evidence: evidence)
}

/// The server killed under load (SIGKILL, or the kill command) and restarted on the same
/// data: nothing acknowledged is lost.
struct CrashScenario: BehaviourScenario {
    let name = "crash"
    let summary = "SIGKILL under load, restart on the same data directory: every acknowledged event is still delivered"
    let needsRestart = true

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL, timeout: .seconds(5)))
            let target = TargetClient(system)
            let acknowledgements = EventsClient.Acknowledgements()
            let ids = context.ids("crash", count: 20_000)
            let load = Task { await client.send(ids, batch: 50, concurrency: 8, into: acknowledgements) }
            while acknowledgements.acknowledged.withLock({ $0.count }) < 3_000 {
                try await Task.sleep(for: .milliseconds(10))
            }
            let killed = try await system.killServer()
            let atKill = acknowledgements.acknowledged.withLock { $0.count }
            let restarted = try await system.restartKilledServer(binary: context.binary ?? SpawnedServer.defaultBinary)
            _ = await load.value
            var evidence = ["\(killed) with \(atKill) events acknowledged; \(restarted)"]
            let passed = try await verifyDelivered(acknowledgements.acknowledged.withLock { $0 }, target: target, evidence: &evidence)
            return ScenarioResult(passed: passed, evidence: evidence)
        }
    }
}

/// Twenty kills (SIGKILL, or the kill command) at random moments under steady load, each
/// followed by a restart on the same data: nothing acknowledged is lost, and the duplicates
/// the crashes cost are counted.
struct CrashLoopScenario: BehaviourScenario {
    let name = "crash-loop"
    let summary = "20 SIGKILLs at random moments under load, a restart after each: lost 0, duplicates reported"
    let needsRestart = true
    static let kills = 20

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL, timeout: .seconds(5)))
            let target = TargetClient(system)
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
                _ = try await system.killServer()
                _ = try await system.restartKilledServer(binary: context.binary ?? SpawnedServer.defaultBinary)
                restarts += 1
            }
            try await Task.sleep(for: .milliseconds(500))
            stop.store(true, ordering: .relaxed)
            let sent = await load.value
            let acknowledged = acknowledgements.acknowledged.withLock { $0 }
            var evidence = [
                "\(restarts) kills and restarts under load; \(sent) events sent, \(acknowledged.count) acknowledged, "
                    + "\(sent - acknowledged.count) refused or unanswered while the server was down"
            ]
            let passed = try await verifyDelivered(acknowledged, target: target, stall: .seconds(120), evidence: &evidence)
            return ScenarioResult(passed: passed && restarts == Self.kills, evidence: evidence)
        }
    }
}

/// The target fails every request for a while, then recovers: everything is delivered.
struct TargetOutageScenario: BehaviourScenario {
    let name = "target-outage"
    let summary = "the target answers 5xx to everything for 3 s, then recovers: everything acknowledged is delivered"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            try await deliveredThroughFaults(
                #"{"error_rate":1}"#, name: "outage",
                description: "target failed every request for 3 s while 2,000 events were sent", context: context, system: system)
        }
    }
}

/// Half the requests fail and some hang past the timeout: everything is delivered.
struct ErrorBurstScenario: BehaviourScenario {
    let name = "error-burst"
    let summary = "a burst of 50 % errors and 5 % timeouts: everything acknowledged is delivered"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--target-timeout-ms", "1000", "--retry-max-ms", "1000"]) { system in
            try await deliveredThroughFaults(
                #"{"error_rate":0.5,"timeout_rate":0.05,"timeout_hold_ms":1500}"#, name: "burst",
                description: "target failed 50 % and held 5 % past the 1 s timeout for 3 s", context: context, system: system)
        }
    }
}

/// With the limiter set to the target's limit, the target never throttles and is used to at
/// least 95 %. A spawned system gets 300 requests/s, burst 30; against a given one the target is
/// set (over its admin API) to the limit the system publishes in `eventflow_delivery_configured`.
struct RateLimitScenario: BehaviourScenario {
    let name = "rate-limit"
    let summary = "delivery set to the target's limit (300/s, burst 30, or the given system's) is never throttled and uses at least 95 % of it"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(
            targetArguments: ["--rate", "300", "--burst", "30"], serveArguments: ["--target-rate", "300", "--target-burst", "30"]
        ) { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(system)
            let settings = try await DeliverySettings.read(from: HTTPProbe(baseURL: system.systemURL))
            guard settings.rateLimit > 0 else {
                return .skipped("the system delivers without a rate limit: start it with --target-rate (and --target-burst) for rate-limit to check one")
            }
            // The limit in events: each request carries up to a batch.
            let limit = settings.rateLimit * settings.batch
            let count = min(200_000, max(3_000, Int(limit * 10)))
            let throttledBefore = try await target.summary()["throttled", default: 0]
            let ids = context.ids("rate", count: count)
            var evidence: [String] = []
            let delivered = try await target.withRateLimit(#"{"rate":\#(settings.rateLimit),"burst":\#(settings.burst)}"#) {
                let sent = await client.send(ids)
                return try await verifyDelivered(sent.acknowledged.withLock { $0 }, target: target, stall: .seconds(120), evidence: &evidence)
            }
            let ledger = try await target.ledger()
            let times = ids.compactMap { ledger[$0]?.firstDeliveredAtMs }.sorted()
            let burstEvents = Int(settings.burst * settings.batch)
            let rate = times.count > burstEvents && times.last! > times.first! ? Double(times.count - burstEvents) / (Double(times.last! - times.first!) / 1000) : 0
            let throttled = try await target.summary()["throttled", default: -1] - throttledBefore
            evidence.append(
                String(format: "%d events delivered at %.1f/s against a limit of %.0f/s (%.1f %%); throttled %d", times.count, rate, limit, rate / limit * 100, throttled))
            return ScenarioResult(passed: delivered && throttled == 0 && rate >= limit * 0.95 && rate <= limit, evidence: evidence)
        }
    }
}

/// The client sends every event twice (a retry): each is applied once by the idempotent target.
struct DuplicateSendsScenario: BehaviourScenario {
    let name = "duplicate-sends"
    let summary = "every event sent twice with the same id is delivered, and applied once in effect"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(system)
            let ids = context.ids("dup", count: 1_000)
            // One batch at a time, so that a system with a small pending limit refuses none.
            let first = await client.send(ids, concurrency: 1)
            _ = await client.send(ids, concurrency: 1, into: first)
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

/// One event fails for longer than the ordering window: later events stop overtaking it once
/// it has been pending for the window. A spawned system gets a 1 s window; against a given one
/// the window it publishes in `eventflow_delivery_configured` is used (the default, 60 s, makes
/// this scenario take about a minute and a half).
struct OrderingWindowScenario: BehaviourScenario {
    let name = "ordering-window"
    let summary = "an event failing for longer than the ordering window (1 s, or the given system's) is overtaken only by events sent within the window"
    static let batches = 20

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--ordering-window", "1", "--target-concurrency", "4", "--target-rate", "200", "--target-burst", "10"]) {
            system in
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(system)
            let window = try await DeliverySettings.read(from: HTTPProbe(baseURL: system.systemURL)).orderingWindow
            let stuck = context.ids("stuck", count: 1)[0]
            let later = context.ids("later", count: Self.batches * 30)
            // The stuck event fails well past the window, and later events are sent over a
            // quarter more than it: the last ones must wait behind it.
            let faults = #"{"fail_ids_prefix":"\#(stuck)","fail_ids_for_seconds":\#(window * 1.5 + 2)}"#
            let acknowledged = try await target.withFaults(faults) {
                let head = await client.send([stuck], concurrency: 1)
                let rest = EventsClient.Acknowledgements()
                for batch in 0..<Self.batches {
                    _ = await client.send(Array(later[(batch * 30)..<((batch + 1) * 30)]), batch: 30, concurrency: 1, into: rest)
                    try await Task.sleep(for: .checkedSeconds((window * 1.25 + 1) / Double(Self.batches)))
                }
                var evidence: [String] = []
                _ = try await verifyDelivered([stuck], target: target, stall: .checkedSeconds(window * 2 + 60), evidence: &evidence)
                return head.acknowledged.withLock { $0 }.union(rest.acknowledged.withLock { $0 })
            }
            var evidence: [String] = []
            let delivered = try await verifyDelivered(acknowledged, target: target, evidence: &evidence)
            let ledger = try await target.ledger()
            guard let stuckEntry = ledger[stuck], let stuckDelivered = stuckEntry.firstDeliveredAtMs else {
                return ScenarioResult(passed: false, evidence: evidence + ["the stuck event was not delivered"])
            }
            let overtaking = later.compactMap { id in ledger[id].flatMap { ($0.firstDeliveredAtMs ?? .max) < stuckDelivered ? $0 : nil } }
            let latestStart = overtaking.map(\.firstAttemptAtMs).max() ?? stuckEntry.firstAttemptAtMs
            let worst = overtaking.compactMap(\.firstDeliveredAtMs).min().map { Double(stuckDelivered - $0) / 1000 } ?? 0
            evidence.append(
                String(
                    format: "ordering window %.1f s; stuck event delivered %.2f s after its first attempt; %d of %d later events overtook it, the last sent %.2f s after it; worst reorder %.2f s",
                    window, Double(stuckDelivered - stuckEntry.firstAttemptAtMs) / 1000, overtaking.count, later.count,
                    Double(latestStart - stuckEntry.firstAttemptAtMs) / 1000, worst))
            let held = Double(latestStart - stuckEntry.firstAttemptAtMs) / 1000 <= window + 0.1 && overtaking.count < later.count
            return ScenarioResult(passed: delivered && held, evidence: evidence)
        }
    }
}

/// Delivery's settings as a system publishes them (`eventflow_delivery_configured{setting}`
/// on `/metrics`), so that a scenario can hold a system it did not start to its own settings.
struct DeliverySettings {
    /// Requests per second; 0: none.
    var rateLimit: Double
    var burst: Double
    /// Events per request.
    var batch: Double
    var orderingWindow: Double
    var maxRetryAfter: Double

    static func read(from system: HTTPProbe) async throws -> DeliverySettings {
        let metrics = try PrometheusText.parse(try await system.get("/metrics").text)
        func setting(_ name: String) throws -> Double {
            guard let value = metrics.value("eventflow_delivery_configured", ["setting": name]), value.isFinite, value >= 0 else {
                throw SpawnError("the system's /metrics has no eventflow_delivery_configured{setting=\"\(name)\"}: is it an Eventflow with delivery on?")
            }
            return value
        }
        return DeliverySettings(
            rateLimit: try setting("rate_limit_requests_per_second"), burst: try setting("burst_requests"), batch: max(1, try setting("batch_events")),
            orderingWindow: try setting("ordering_window_seconds"), maxRetryAfter: try setting("max_retry_after_seconds"))
    }
}

/// A flood beyond the pending limit gets 503 with Retry-After, and loses nothing it acknowledged.
struct BackPressureScenario: BehaviourScenario {
    let name = "back-pressure"
    let summary = "a flood over the pending limit gets 503 with Retry-After; everything acknowledged is delivered, nothing refused is"
    /// The largest pending limit a flood of 48 connections sending 40 events each is sure to pass.
    static let largestFloodableLimit = 500.0

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem(serveArguments: ["--max-pending-events", "50"]) { system in
            let metrics = try PrometheusText.parse(try await HTTPProbe(baseURL: system.systemURL).get("/metrics").text)
            let limit = metrics.value("eventflow_log_configured", ["setting": "max_pending_events"]) ?? .infinity
            guard limit <= Self.largestFloodableLimit else {
                return .skipped(
                    "the system's pending limit is \(limit.isFinite ? String(Int(limit)) : "unpublished") events: back-pressure floods past it only "
                        + "when it is \(Int(Self.largestFloodableLimit)) or less (start the system with --max-pending-events 50)")
            }
            let client = EventsClient(system: HTTPProbe(baseURL: system.systemURL))
            let target = TargetClient(system)
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
