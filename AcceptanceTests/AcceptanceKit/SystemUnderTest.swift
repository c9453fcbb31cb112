public import Foundation

/// The system the suite drives: given URLs (killed and restarted, when at all, by the
/// fault hooks' commands), or an Eventflow and a reference target it started itself (fresh
/// data directory, free ports), stopped by PID at the end.
public final class SystemUnderTest {
    public let systemURL: String
    public let targetURL: String?
    public private(set) var processes: [SpawnedServer]
    public let dataDirectory: String?
    /// How a system given by URL is killed and restarted.
    public let hooks: FaultHooks?
    /// The key of the reference target's `/admin` API, when it has one.
    public let targetAdminKey: String?

    public init(systemURL: String, targetURL: String?, hooks: FaultHooks? = nil, targetAdminKey: String? = nil) {
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.hooks = hooks
        self.targetAdminKey = targetAdminKey
        processes = []
        dataDirectory = nil
    }

    private init(systemURL: String, targetURL: String, processes: [SpawnedServer], dataDirectory: String) {
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.processes = processes
        self.dataDirectory = dataDirectory
        hooks = nil
        targetAdminKey = nil
    }

    /// Starts `eventflow target TARGET_ARGUMENTS` and `eventflow serve` delivering (and sending account callbacks) to it with SERVE_ARGUMENTS,
    /// on `dataDirectory` (default: a fresh temporary one), which `stop()` deletes.
    public static func spawn(
        binary: URL = SpawnedServer.defaultBinary, targetArguments: [String] = [], serveArguments: [String] = [], dataDirectory: String? = nil
    ) async throws -> SystemUnderTest {
        let target = try await SpawnedServer.start(binary: binary, arguments: ["target"] + targetArguments)
        do {
            let directory = dataDirectory ?? makeTemporaryDirectory(prefix: "eventflow-acceptance")
            let server = try await SpawnedServer.serve(
                dataDirectory: directory, arguments: ["--target-url", target.url + "/deliver", "--callback-url", target.url + "/callbacks"] + serveArguments, binary: binary)
            return SystemUnderTest(systemURL: server.url, targetURL: target.url, processes: [target, server], dataDirectory: directory)
        } catch {
            await target.stop()
            throw error
        }
    }

    /// The spawned `eventflow serve`, when there is one.
    public var server: SpawnedServer? { processes.count == 2 ? processes[1] : nil }

    /// Restarts the spawned server on the same data directory and port (after it was killed or stopped).
    public func restartServer(binary: URL = SpawnedServer.defaultBinary) async throws -> SpawnedServer {
        guard let old = server, let dataDirectory else { throw SpawnError("only a spawned system can be restarted") }
        let arguments = Array(old.process.arguments?.dropFirst(3).dropLast(2) ?? [])
        let restarted = try await SpawnedServer.serve(dataDirectory: dataDirectory, arguments: arguments, port: old.port, binary: binary)
        processes[1] = restarted
        return restarted
    }

    /// Whether the server can be killed and restarted: it was spawned, or hooks were given.
    public var canCrash: Bool { server != nil || hooks != nil }

    /// Kills the server as a crash would: SIGKILL to the spawned process, or the kill
    /// command. Returns what happened, for the evidence.
    public func killServer() async throws -> String {
        if let server {
            server.send(SIGKILL)
            _ = try await server.waitForExit()
            return "SIGKILL to pid \(server.process.processIdentifier)"
        }
        guard let hooks else { throw SpawnError("killing the server needs --spawn, or --kill-command and --restart-command") }
        return try await hooks.kill(HTTPProbe(baseURL: systemURL))
    }

    /// Starts the server again after `killServer()`: the spawned one on the same data
    /// directory and port, or by the restart command. Returns what happened.
    public func restartKilledServer(binary: URL = SpawnedServer.defaultBinary) async throws -> String {
        if server != nil {
            let restarted = try await restartServer(binary: binary)
            return "restarted as pid \(restarted.process.processIdentifier)"
        }
        guard let hooks else { throw SpawnError("restarting the server needs --spawn, or --kill-command and --restart-command") }
        return try await hooks.restart(HTTPProbe(baseURL: systemURL))
    }

    /// Stops every spawned process, the server first, and deletes the data directory it made.
    public func stop() async {
        for process in processes.reversed() { await process.stop() }
        if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }

    public var description: String {
        processes.isEmpty
            ? "system at \(systemURL)" + (targetURL.map { ", target at \($0)" } ?? "")
            : processes.map { "\($0.process.arguments?.first ?? "") (pid \($0.process.processIdentifier)) at \($0.url)" }.joined(separator: ", ")
    }
}
