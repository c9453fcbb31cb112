import EventflowCore
import Foundation

/// Thousands of idle connections and a hundred slowloris clients must not slow ordinary
/// requests, and the server must close them: idle ones after its idle timeout, tricklers
/// after its header timeout.
struct SlowClientsScenario: BehaviourScenario {
    let name = "slow-clients"
    let summary = "4,000 idle and 200 slowloris connections: ordinary requests keep their latency; both kinds are closed by the server's timeouts"
    let needsSpawn = false

    static let idleConnections = 4_000
    static let slowlorisConnections = 200
    /// The timeouts a spawned system gets; against a given system the documented defaults
    /// (60 s idle, 10 s header) bound the wait.
    static let spawnedIdleTimeout = 4.0
    static let spawnedHeaderTimeout = 2.0

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        let spawned = context.binary != nil
        let idleLimit = spawned ? Self.spawnedIdleTimeout : 60
        let headerLimit = spawned ? Self.spawnedHeaderTimeout : 10
        let arguments = ["--idle-timeout", "\(Self.spawnedIdleTimeout)s", "--header-timeout", "\(Self.spawnedHeaderTimeout)s"]
        return try await context.withSystem(serveArguments: arguments) { system in
            guard let (host, port) = HostileInputScenario.hostAndPort(system.systemURL) else { throw SpawnError("cannot read \(system.systemURL)") }
            let probe = HTTPProbe(baseURL: system.systemURL, timeout: .seconds(10))
            let ids = context.ids("slow", count: 400)
            let quiet = await Self.latencies(probe, ids: Array(ids.prefix(200)))
            let opened = ContinuousClock.now
            async let idle = Self.hold(Self.idleConnections, host: host, port: port, writing: [], pause: .zero, limit: idleLimit + 15)
            async let trickling = Self.hold(
                Self.slowlorisConnections, host: host, port: port,
                writing: ["POST /v1/streams/events/events HTTP/1.1\r\n"] + (0..<120).map { "X-Slow-\($0): y\r\n" }, pause: .seconds(1),
                limit: headerLimit + 15)
            // Let the connections open before measuring beside them.
            try await Task.sleep(for: .seconds(1))
            let busy = await Self.latencies(probe, ids: Array(ids.suffix(200)))
            let (idleClosed, idleFailed) = await idle
            let (trickleClosed, trickleFailed) = await trickling
            let quietP99 = Self.p99(quiet.latencies)
            let busyP99 = Self.p99(busy.latencies)
            let allowed = max(0.05, quietP99 * 3)
            let idleInTime = idleClosed.filter { $0 <= idleLimit + 10 }.count
            let trickleInTime = trickleClosed.filter { $0 <= headerLimit + 10 }.count
            let evidence = [
                String(format: "ordinary requests: p99 %.1f ms alone, %.1f ms beside the slow clients (allowed %.1f ms); failed %d and %d",
                    quietP99 * 1000, busyP99 * 1000, allowed * 1000, quiet.failures, busy.failures),
                "idle connections: \(Self.idleConnections - idleFailed) opened, \(idleInTime) closed by the server within \(Int(idleLimit))+10 s",
                "slowloris connections: \(Self.slowlorisConnections - trickleFailed) opened, \(trickleInTime) closed within \(Int(headerLimit))+10 s of opening",
                String(format: "took %.0f s", (ContinuousClock.now - opened).seconds),
            ]
            let passed = quiet.failures == 0 && busy.failures == 0 && busyP99 <= allowed
                && idleInTime == Self.idleConnections - idleFailed && trickleInTime == Self.slowlorisConnections - trickleFailed
                && idleFailed == 0 && trickleFailed == 0
            return ScenarioResult(passed: passed, evidence: evidence)
        }
    }

    /// Sends one event per id, one request after the other, and times each.
    static func latencies(_ probe: HTTPProbe, ids: [String]) async -> (latencies: [Double], failures: Int) {
        var latencies: [Double] = []
        var failures = 0
        for id in ids {
            let started = ContinuousClock.now
            let status = try? await probe.post("/v1/streams/events/events", body: Array(#"{"id":"\#(id)","name":"slow","timestamp":1763900000}"#.utf8)).status
            if status == 202 { latencies.append((ContinuousClock.now - started).seconds) } else { failures += 1 }
        }
        return (latencies, failures)
    }

    static func p99(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
    }

    /// Opens `count` connections that write `writing` (`pause` apart) and otherwise wait;
    /// returns the seconds after which the server closed each, and how many failed to open.
    static func hold(
        _ count: Int, host: String, port: Int, writing: [String], pause: Duration, limit: Double
    ) async -> (closedAfter: [Double], failedToOpen: Int) {
        await withTaskGroup(of: Double??.self) { group in
            for _ in 0..<count {
                group.addTask {
                    guard let connection = try? await RawConnection.open(host: host, port: port) else { return .some(nil) }
                    let closed = try? await connection.exchange(writing: writing, pause: pause, limit: .checkedSeconds(limit))
                    return .some(closed?.closedAfter.map(\.seconds) ?? .infinity)
                }
            }
            var closed: [Double] = []
            var failed = 0
            for await result in group {
                if case .some(let value) = result, let value { closed.append(value) } else { failed += 1 }
            }
            return (closed, failed)
        }
    }
}

