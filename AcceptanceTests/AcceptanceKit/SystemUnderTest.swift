public import Foundation

/// The system the suite drives: given URLs, or an Eventflow and a reference target it
/// started itself (fresh data directory, free ports), stopped by PID at the end.
public final class SystemUnderTest {
    public let systemURL: String
    public let targetURL: String?
    public private(set) var processes: [SpawnedServer]
    public let dataDirectory: String?

    public init(systemURL: String, targetURL: String?) {
        self.systemURL = systemURL
        self.targetURL = targetURL
        processes = []
        dataDirectory = nil
    }

    private init(systemURL: String, targetURL: String, processes: [SpawnedServer], dataDirectory: String) {
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.processes = processes
        self.dataDirectory = dataDirectory
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
