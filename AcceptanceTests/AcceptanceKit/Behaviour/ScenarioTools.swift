import Foundation
import NIOHTTP1
import Synchronization

/// Helpers the scenarios share: send events and remember what was acknowledged, read the
/// target's ledger, change its faults, wait for delivery.
struct EventsClient: Sendable {
    let system: HTTPProbe

    /// What the client was told for each id.
    final class Acknowledgements: Sendable {
        let acknowledged = Mutex<Set<String>>([])
        let refused = Mutex<Set<String>>([])
        let statuses = Mutex<[Int: Int]>([:])
        let retryAfterSeen = Mutex(0)
    }

    /// Sends `ids` as NDJSON batches of `batch` from `concurrency` connections.
    func send(_ ids: [String], batch: Int = 50, concurrency: Int = 8, into acknowledgements: Acknowledgements = Acknowledgements()) async -> Acknowledgements {
        let batches = stride(from: 0, to: ids.count, by: batch).map { Array(ids[$0..<min($0 + batch, ids.count)]) }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: batches.count, by: concurrency) {
                        let body = batches[index].map { #"{"id":"\#($0)","name":"behaviour","timestamp":1763900000}"# }.joined(separator: "\n")
                        let response = try? await system.post("/v1/streams/events/events", body: Array(body.utf8), contentType: "application/x-ndjson")
                        acknowledgements.statuses.withLock { $0[response?.status ?? 0, default: 0] += 1 }
                        if response?.status == 202 {
                            acknowledgements.acknowledged.withLock { $0.formUnion(batches[index]) }
                        } else if let response {
                            acknowledgements.refused.withLock { $0.formUnion(batches[index]) }
                            if response.status == 503, response.header("Retry-After") != nil { acknowledgements.retryAfterSeen.withLock { $0 += 1 } }
                        }
                    }
                }
            }
        }
        return acknowledgements
    }
}

/// The reference target, read and steered over HTTP.
struct TargetClient: Sendable {
    let target: HTTPProbe

    init(target: HTTPProbe) {
        self.target = target
    }

    /// The target of `system`, with its admin key.
    init(_ system: SystemUnderTest) {
        target = HTTPProbe(baseURL: system.targetURL ?? "", apiKey: system.targetAdminKey)
    }

    struct Entry: Sendable {
        var firstDeliveredAtMs: Int64?
        var firstAttemptAtMs: Int64
        var deliveries: Int
    }

    func ledger() async throws -> [String: Entry] {
        var entries: [String: Entry] = [:]
        try await target.forEachLine("/ledger") { line in
            guard let id = PerformanceRun.field(line, "id") else { return }
            entries[String(id)] = Entry(
                firstDeliveredAtMs: PerformanceRun.field(line, "first_delivered_at_ms").flatMap { Int64($0) },
                firstAttemptAtMs: PerformanceRun.field(line, "first_attempt_at_ms").flatMap { Int64($0) } ?? 0,
                deliveries: PerformanceRun.field(line, "deliveries").flatMap { Int($0) } ?? 0)
        }
        return entries
    }

    func summary() async throws -> [String: Int] {
        (try await target.get("/ledger/summary").json as? [String: Int]) ?? [:]
    }

    /// Runs `body` with the target's faults changed by `json` (`PUT /admin/faults`).
    func withFaults<T>(_ json: String, _ body: () async throws -> T) async throws -> T {
        try await withAdminSetting("/admin/faults", json, body)
    }

    /// Runs `body` with delivery's rate limit on the target set by `json` (`PUT /admin/rate-limit`).
    func withRateLimit<T>(_ json: String, _ body: () async throws -> T) async throws -> T {
        try await withAdminSetting("/admin/rate-limit", json, body)
    }

    /// Runs `body` with the target's admin setting at `path` changed by `json`, and puts back
    /// what it was before (as its GET shows it), also when `body` throws: the target may be
    /// shared with other traffic.
    private func withAdminSetting<T>(_ path: String, _ json: String, _ body: () async throws -> T) async throws -> T {
        let before = try await target.get(path)
        guard before.status == 200 else { throw SpawnError("GET \(path) on the target answered \(before.status)\(Self.hint(before.status))") }
        try await admin(path, json)
        do {
            let result = try await body()
            try await admin(path, before.text)
            return result
        } catch {
            try? await admin(path, before.text)
            throw error
        }
    }

    private func admin(_ path: String, _ json: String) async throws {
        let response = try await target.send(path, method: .PUT, body: Array(json.utf8), contentType: "application/json")
        guard response.status == 200 else {
            throw SpawnError("PUT \(path) \(json) on the target answered \(response.status)\(Self.hint(response.status)): \(response.text.prefix(200))")
        }
    }

    private static func hint(_ status: Int) -> String {
        status == 401 ? " (give the target's admin key with --target-admin-key)" : ""
    }

    /// Waits until every id in `ids` was delivered, as long as they keep arriving: returns
    /// the ones still missing once `stall` passed without one more of them delivered, or
    /// after `limit` in all. A system that delivers slowly (a rate limit, a hostile target)
    /// is given its time; one that stopped is not waited for.
    func waitForDelivery(of ids: Set<String>, stall: Duration = .seconds(60), limit: Duration = .seconds(900)) async throws -> Set<String> {
        let started = ContinuousClock.now
        var lastProgress = started
        var missing = ids
        while true {
            let ledger = try await ledger()
            let still = missing.filter { ledger[$0]?.firstDeliveredAtMs == nil }
            let now = ContinuousClock.now
            if still.count < missing.count { lastProgress = now }
            missing = still
            if missing.isEmpty || now - lastProgress >= stall || now - started >= limit { return missing }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

extension ScenarioContext {
    /// Ids unique to this run: `<prefix>-<run tag>-<n>`. Each scenario uses prefixes of its own.
    func ids(_ prefix: String, count: Int) -> [String] {
        (0..<count).map { "\(prefix)-\(run.tag)-\($0)" }
    }
}
