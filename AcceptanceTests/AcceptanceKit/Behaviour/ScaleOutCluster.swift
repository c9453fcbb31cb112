import EventflowLog
import Foundation
import Logging

/// Several `eventflow serve` processes sharing one PostgreSQL database, and the reference
/// target they deliver to: collectors (`--role collector`) and processors
/// (`--role processor`), each with its own port and data directory, stopped by PID at the end.
final class ScaleOutCluster {
    struct Member {
        var server: SpawnedServer
        let arguments: [String]
    }

    let binary: URL
    let target: SpawnedServer
    let databaseURL: String
    /// The database's URL without its password, for evidence.
    var databaseDescription: String { (try? PostgresURL(databaseURL).redacted) ?? "PostgreSQL" }
    /// How each member gets the database: `--storage postgres` reads `EVENTFLOW_POSTGRES_URL`.
    var databaseEnvironment: [String: String] { ["EVENTFLOW_POSTGRES_URL": databaseURL] }
    private(set) var collectors: [Member] = []
    private(set) var processors: [Member] = []
    /// The members' data directories, deleted by ``stop()``.
    private var directories: [String] = []

    private init(binary: URL, target: SpawnedServer, databaseURL: String) {
        self.binary = binary
        self.target = target
        self.databaseURL = databaseURL
    }

    /// Creates a fresh database beside `postgresURL`, starts the target with `targetArguments`
    /// and the given number of collectors and processors (processors get `processorArguments`).
    static func start(
        binary: URL, postgresURL: String, collectors: Int, processors: Int, targetArguments: [String], processorArguments: [String]
    ) async throws -> ScaleOutCluster {
        let base = try PostgresURL(postgresURL)
        let name = "eventflow_scale_out_\(UInt64(Date().timeIntervalSince1970 * 1000))"
        let database = try await base.creatingDatabase(named: name, logger: Logger(label: "behaviour-test"))
        let target = try await SpawnedServer.start(binary: binary, arguments: ["target"] + targetArguments)
        let cluster = ScaleOutCluster(binary: binary, target: target, databaseURL: database.text)
        do {
            for _ in 0..<collectors { cluster.collectors.append(try await cluster.startMember(role: "collector", extra: [])) }
            for _ in 0..<processors {
                let extra = ["--target-url", target.url + "/deliver", "--callback-url", target.url + "/callbacks"] + processorArguments
                cluster.processors.append(try await cluster.startMember(role: "processor", extra: extra))
            }
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    private func startMember(role: String, extra: [String]) async throws -> Member {
        // The URL (with its password) goes in the environment, not in the process list.
        let arguments = ["--storage", "postgres", "--role", role] + extra
        let server = try await SpawnedServer.serve(
            dataDirectory: newDirectory(prefix: "eventflow-\(role)"), arguments: arguments, environment: databaseEnvironment, binary: binary)
        return Member(server: server, arguments: arguments)
    }

    enum Role {
        case collector, processor
    }

    private func members(_ role: Role) -> [Member] { role == .collector ? collectors : processors }

    /// SIGKILLs member `index` of `role` and waits until it is gone.
    func kill(_ role: Role, _ index: Int) async throws {
        let server = members(role)[index].server
        server.send(SIGKILL)
        _ = try await server.waitForExit()
    }

    /// Starts member `index` of `role` again, same flags and port (clients find it where it
    /// was), on a new data directory.
    func restart(_ role: Role, _ index: Int) async throws {
        let member = members(role)[index]
        let server = try await SpawnedServer.serve(
            dataDirectory: newDirectory(prefix: "eventflow-restarted"), arguments: member.arguments, environment: databaseEnvironment,
            port: member.server.port, binary: binary)
        switch role {
        case .collector: collectors[index].server = server
        case .processor: processors[index].server = server
        }
    }

    /// The index of the processor delivering now: the live one whose delivered count grows.
    func deliveringProcessor(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var before = try await deliveredCounts()
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let now = try await deliveredCounts()
            if let index = now.indices.first(where: { processors[$0].server.isRunning && now[$0] > before[$0] }) { return index }
            before = now
        }
        throw SpawnError("no processor delivered anything within \(timeout)")
    }

    /// Waits until every running processor delivers some partitions of stream `events`
    /// (they share the work); returns the partitions each holds.
    func waitForSharedDelivery(timeout: Duration = .seconds(30)) async throws -> [Int] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let held = try await processorMetric("eventflow_delivery_partitions_held").map { Int($0) }
            if processors.indices.allSatisfy({ !processors[$0].server.isRunning || held[$0] > 0 }) { return held }
            guard ContinuousClock.now < deadline else { throw SpawnError("the processors did not share the delivery partitions within \(timeout): \(held)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func deliveredCounts() async throws -> [Double] {
        try await processorMetric("eventflow_delivered_events_total")
    }

    /// The value of `name` on each processor's `/metrics` (0 for one not running or not answering).
    func processorMetric(_ name: String) async throws -> [Double] {
        var values: [Double] = []
        for member in processors {
            guard member.server.isRunning else {
                values.append(0)
                continue
            }
            let metrics = (try? PrometheusText.parse(try await HTTPProbe(baseURL: member.server.url).get("/metrics").text)) ?? []
            values.append(metrics.value(name) ?? 0)
        }
        return values
    }

    private func newDirectory(prefix: String) -> String {
        let directory = makeTemporaryDirectory(prefix: prefix)
        directories.append(directory)
        return directory
    }

    /// Stops every process (processors, collectors, then the target) and deletes their data directories.
    func stop() async {
        for member in processors + collectors { await member.server.stop() }
        await target.stop()
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }
}
