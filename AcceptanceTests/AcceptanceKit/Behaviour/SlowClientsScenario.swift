import EventflowCore
import Foundation

/// Thousands of idle connections and a hundred slowloris clients must not slow ordinary
/// requests, and the server must close them: idle ones after its idle timeout, tricklers
/// after its header timeout.
struct SlowClientsScenario: BehaviourScenario {
    let name = "slow-clients"
    let summary = "4,000 idle and 200 slowloris connections: ordinary requests keep their latency; both kinds are closed by the server's timeouts"

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
            // Every connection is open (accepted by the server's kernel) before the requests
            // beside them are timed.
            async let idleConnections = Self.open(Self.idleConnections, host: host, port: port)
            async let tricklingConnections = Self.open(Self.slowlorisConnections, host: host, port: port)
            let (idleOpen, trickleOpen) = await (idleConnections, tricklingConnections)
            let idleFailed = idleOpen.filter { $0 == nil }.count
            let trickleFailed = trickleOpen.filter { $0 == nil }.count
            async let idle = Self.hold(idleOpen.compactMap(\.self), writing: [], pause: .zero, limit: idleLimit + 15)
            async let trickling = Self.hold(
                trickleOpen.compactMap(\.self),
                writing: ["POST /v1/streams/events/events HTTP/1.1\r\n"] + (0..<120).map { "X-Slow-\($0): y\r\n" }, pause: .seconds(1),
                limit: headerLimit + 15)
            let busy = await Self.latencies(probe, ids: Array(ids.suffix(200)))
            let (idleClosed, trickleClosed) = await (idle, trickling)
            let bounds = LatencyBounds(quiet: quiet.latencies)
            let busyMedian = Self.quantile(busy.latencies, 0.5)
            let busyP99 = Self.quantile(busy.latencies, 0.99)
            let idleInTime = idleClosed.filter { $0 <= idleLimit + 10 }.count
            let trickleInTime = trickleClosed.filter { $0 <= headerLimit + 10 }.count
            let evidence = [
                String(format: "ordinary requests alone: median %.1f ms, p99 %.1f ms; beside the slow clients: median %.1f ms (allowed %.1f), p99 %.1f ms (allowed %.1f); failed %d and %d",
                    bounds.quietMedian * 1000, bounds.quietP99 * 1000, busyMedian * 1000, bounds.allowedMedian * 1000,
                    busyP99 * 1000, bounds.allowedP99 * 1000, quiet.failures, busy.failures),
                "idle connections: \(Self.idleConnections - idleFailed) opened, \(idleInTime) closed by the server within \(Int(idleLimit))+10 s",
                "slowloris connections: \(Self.slowlorisConnections - trickleFailed) opened, \(trickleInTime) closed within \(Int(headerLimit))+10 s of opening",
                String(format: "took %.0f s", (ContinuousClock.now - opened).seconds),
            ]
            let passed = quiet.failures == 0 && busy.failures == 0 && busyMedian <= bounds.allowedMedian && busyP99 <= bounds.allowedP99
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

    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }

    /// How much slower ordinary requests may be beside the slow clients. A server whose
    /// event loop or connection slots the slow clients hold shows it as requests that wait a
    /// trickle's pause (1 s) or a timeout, or fail; a shared 2-core runner shows it as a few
    /// tens of milliseconds at the tail. The median must stay within three times its quiet
    /// value (at least 25 ms), the p99 within three times its quiet value (at least 250 ms).
    struct LatencyBounds {
        let quietMedian: Double
        let quietP99: Double
        var allowedMedian: Double { max(0.025, quietMedian * 3) }
        var allowedP99: Double { max(0.25, quietP99 * 3) }

        init(quiet: [Double]) {
            quietMedian = SlowClientsScenario.quantile(quiet, 0.5)
            quietP99 = SlowClientsScenario.quantile(quiet, 0.99)
        }
    }

    /// Opens `count` connections at once; nil for each that failed to open.
    static func open(_ count: Int, host: String, port: Int) async -> [RawConnection?] {
        await withTaskGroup(of: RawConnection?.self) { group in
            for _ in 0..<count {
                group.addTask { try? await RawConnection.open(host: host, port: port) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Has each connection write `writing` (`pause` apart) and otherwise wait; returns the
    /// seconds after which the server closed each (infinity: still open after `limit`).
    static func hold(_ connections: [RawConnection], writing: [String], pause: Duration, limit: Double) async -> [Double] {
        await withTaskGroup(of: Double.self) { group in
            for connection in connections {
                group.addTask {
                    let closed = try? await connection.exchange(writing: writing, pause: pause, limit: .checkedSeconds(limit))
                    return closed?.closedAfter.map(\.seconds) ?? .infinity
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }
}

