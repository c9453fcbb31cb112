public import Foundation
import Synchronization

/// A child process running a built `eventflow` binary that listens on a port it chose
/// itself (`--port 0`); stopped by PID when it goes away.
public final class SpawnedServer {
    public let process: Process
    public let port: Int
    private let output: OutputCollector

    public var url: String { "http://127.0.0.1:\(port)" }
    public var logText: String { output.text }
    public var isRunning: Bool { process.isRunning }

    private init(process: Process, port: Int, output: OutputCollector) {
        self.process = process
        self.port = port
        self.output = output
    }

    /// The `eventflow` binary: `$EVENTFLOW_BINARY`, else the one beside this executable
    /// (both are built into the same `.build/<configuration>` folder).
    public static var defaultBinary: URL {
        if let path = ProcessInfo.processInfo.environment["EVENTFLOW_BINARY"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("eventflow")
    }

    /// Starts `eventflow ARGUMENTS --port PORT` (0: a free one) and waits until it logs the address it listens on.
    /// `environment` is added to this process's (secrets such as a PostgreSQL URL go there, not into
    /// the arguments, which any user can read in the process list).
    public static func start(
        binary: URL = SpawnedServer.defaultBinary, arguments: [String], environment: [String: String] = [:], port: Int = 0,
        startTimeout: Duration = .seconds(30)
    ) async throws -> SpawnedServer {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw SpawnError("no eventflow binary at \(binary.path): build it first ('swift build'), or set EVENTFLOW_BINARY")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments + ["--port", String(port)]
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            if let port = output.listeningPort { return SpawnedServer(process: process, port: port, output: output) }
            guard process.isRunning else { throw SpawnError("\(binary.lastPathComponent) exited before listening:\n\(output.text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        throw SpawnError("\(binary.lastPathComponent) did not start listening within \(startTimeout):\n\(output.text)")
    }

    /// Starts `eventflow serve` on a data directory.
    public static func serve(
        dataDirectory: String, arguments: [String] = [], environment: [String: String] = [:], port: Int = 0,
        binary: URL = SpawnedServer.defaultBinary
    ) async throws -> SpawnedServer {
        try await start(binary: binary, arguments: ["serve", "--data-dir", dataDirectory] + arguments, environment: environment, port: port)
    }

    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit.
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> (status: Int32, reason: Process.TerminationReason) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw SpawnError("process \(process.processIdentifier) did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, process.terminationReason)
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`.
    public func stop(grace: Duration = .seconds(15)) async {
        guard process.isRunning else { return }
        send(SIGTERM)
        if (try? await waitForExit(timeout: grace)) == nil { send(SIGKILL) }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A fresh, empty temporary directory.
public func makeTemporaryDirectory(prefix: String = "eventflow") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Collects a child's output from the pipe's reader thread.
final class OutputCollector: Sendable {
    private let buffer = Mutex("")

    func append(_ data: Data) {
        buffer.withLock { $0 += String(decoding: data, as: UTF8.self) }
    }

    var text: String { buffer.withLock { $0 } }

    /// The port from Hummingbird's "listening on HOST:PORT" line.
    var listeningPort: Int? {
        let text = self.text
        guard let range = text.range(of: "listening on ") else { return nil }
        let address = text[range.upperBound...].prefix { !$0.isWhitespace }
        return address.split(separator: ":").last.flatMap { Int($0) }
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
