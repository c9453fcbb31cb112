import Foundation
import Synchronization

/// Two collectors and two processors on one PostgreSQL, driven over both collectors;
/// one collector and a processor that is delivering (the two share the delivery partitions) are SIGKILLed mid-run. Nothing acknowledged
/// may be lost, the target's limit is never exceeded, and duplicates stay within what the
/// killed processor can have had in flight. Then again with the killed processes restarted.
struct ScaleOutScenario: BehaviourScenario {
    let name = "scale-out"
    let summary = "2 collectors + 2 processors on one PostgreSQL, SIGKILL one of each under load (then again, restarting them): nothing lost, limit held"
    let spawnReason: String? = "it starts a cluster of its own on PostgreSQL"
    let needsPostgres = true

    static let rate = 2_000
    static let concurrency = 8
    /// Deliveries a killed processor can have made without committing them: its requests in
    /// flight plus one second at the limit (the cursor is committed continuously, within
    /// milliseconds of each delivery, so far less than a second is ever uncommitted).
    static let inFlightBound = concurrency + rate

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        guard let binary = context.binary, let postgresURL = context.postgresURL else { throw SpawnError("needs --spawn and --postgres-url") }
        let cluster = try await ScaleOutCluster.start(
            binary: binary, postgresURL: postgresURL, collectors: 2, processors: 2,
            targetArguments: ["--rate", String(Self.rate), "--burst", String(Self.rate / 10)],
            processorArguments: [
                "--target-rate", String(Self.rate), "--target-burst", String(Self.rate / 10), "--target-concurrency", String(Self.concurrency),
                "--lease-duration", "2s",
            ])
        do {
            var evidence = ["2 collectors, 2 processors and the target (limit \(Self.rate)/s) on \(cluster.databaseDescription)"]
            let firstPassed = try await phase(cluster, ids: context.ids("scale", count: 12_000), killing: 0, restart: false, evidence: &evidence)
            let secondPassed = try await phase(cluster, ids: context.ids("rescale", count: 12_000), killing: 1, restart: true, evidence: &evidence)
            await cluster.stop()
            return ScenarioResult(passed: firstPassed && secondPassed, evidence: evidence)
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Sends `ids` over both collectors; once a third is acknowledged, SIGKILLs collector
    /// `killing` and a processor delivering then (and with `restart`, starts both again
    /// right away; without it, first restarts whatever an earlier phase left dead).
    private func phase(_ cluster: ScaleOutCluster, ids: [String], killing collector: Int, restart: Bool, evidence: inout [String]) async throws -> Bool {
        if restart {
            for index in cluster.processors.indices where !cluster.processors[index].server.isRunning { try await cluster.restart(.processor, index) }
            for index in cluster.collectors.indices where !cluster.collectors[index].server.isRunning { try await cluster.restart(.collector, index) }
        }
        let shared = try await cluster.waitForSharedDelivery()
        let target = TargetClient(target: HTTPProbe(baseURL: cluster.target.url))
        let before = try await target.summary()
        let load = SpreadLoad(collectors: cluster.collectors.map { HTTPProbe(baseURL: $0.server.url, timeout: .seconds(5)) })
        let sending = Task { await load.send(ids) }
        while load.acknowledged.withLock({ $0.count }) < ids.count / 3 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let processor = try await cluster.deliveringProcessor()
        let partitions = try await cluster.processorMetric("eventflow_delivery_partitions_held").map { String(Int($0)) }
        let deliveredBeforeKill = try await cluster.processorMetric("eventflow_delivered_events_total").map { String(Int($0)) }
        try await cluster.kill(.processor, processor)
        try await cluster.kill(.collector, collector)
        let atKill = load.acknowledged.withLock { $0.count }
        if restart {
            try await cluster.restart(.processor, processor)
            try await cluster.restart(.collector, collector)
        }
        await sending.value
        let acknowledged = load.acknowledged.withLock { $0 }
        let missing = try await target.waitForDelivery(of: acknowledged, stall: .seconds(90))
        let after = try await target.summary()
        let duplicates = after["duplicates", default: 0] - before["duplicates", default: 0]
        let throttled = after["throttled", default: 0] - before["throttled", default: 0]
        let resent = load.resent.withLock { $0 }
        let bound = Self.inFlightBound + resent
        let acknowledgedAfterKill = acknowledged.count - atKill
        evidence.append(
            "\(restart ? "with restarts" : "restarting nothing"): delivery partitions held \(shared.map(String.init).joined(separator: " + ")) before the load, "
                + "\(partitions.joined(separator: " + ")) at the kill, events delivered until then \(deliveredBeforeKill.joined(separator: " + ")); "
                + "SIGKILL of processor \(processor + 1) and collector \(collector + 1) "
                + "with \(atKill) of \(ids.count) events acknowledged\(restart ? ", both started again at once" : "")")
        evidence.append(
            "acknowledged \(acknowledged.count) (\(acknowledgedAfterKill) after the kill), lost \(missing.count), throttled by the target \(throttled), "
                + "duplicates \(duplicates) (bound \(bound): \(Self.inFlightBound) in flight + \(resent) resent by the client after an unanswered request)")
        if !missing.isEmpty { evidence.append("never delivered: \(missing.sorted().prefix(5).joined(separator: ", "))…") }
        return missing.isEmpty && throttled == 0 && duplicates <= bound && acknowledgedAfterKill > 0
    }
}

/// A client spreading NDJSON batches over several collectors at a steady pace; a batch that
/// gets no answer (its collector died) is sent again to the next collector, as a client
/// with a list of endpoints would.
private final class SpreadLoad: Sendable {
    let collectors: [HTTPProbe]
    let acknowledged = Mutex<Set<String>>([])
    /// Events sent again after a request got no answer: they may be in the log twice.
    let resent = Mutex(0)

    init(collectors: [HTTPProbe]) {
        self.collectors = collectors
    }

    /// Sends `ids` in batches of 50, two workers per collector, one batch per worker every
    /// 20 ms; a worker whose collector stops answering uses the next one for a second
    /// before it tries its own again.
    func send(_ ids: [String]) async {
        let batches = stride(from: 0, to: ids.count, by: 50).map { Array(ids[$0..<min($0 + 50, ids.count)]) }
        let workers = collectors.count * 2
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    let home = worker % self.collectors.count
                    var away: (collector: Int, since: ContinuousClock.Instant)?
                    for index in stride(from: worker, to: batches.count, by: workers) {
                        if let since = away?.since, ContinuousClock.now - since > .seconds(1) { away = nil }
                        let used = await self.sendBatch(batches[index], firstCollector: away?.collector ?? home)
                        if used != home, away == nil { away = (used, .now) }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
    }

    /// Sends one batch until a collector acknowledges it; returns the collector that did.
    private func sendBatch(_ batch: [String], firstCollector: Int) async -> Int {
        let body = Array(batch.map { #"{"id":"\#($0)","name":"scale-out","timestamp":1763900000}"# }.joined(separator: "\n").utf8)
        for attempt in 0..<collectors.count {
            let index = (firstCollector + attempt) % collectors.count
            let response = try? await collectors[index].post("/v1/streams/events/events", body: body, contentType: "application/x-ndjson")
            if response?.status == 202 {
                acknowledged.withLock { $0.formUnion(batch) }
                return index
            }
            if response == nil, attempt + 1 < collectors.count { resent.withLock { $0 += batch.count } }
        }
        return firstCollector
    }
}
