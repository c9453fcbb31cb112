import Foundation

/// Shell commands that kill and restart a system the suite did not start
/// (`--kill-command`, `--restart-command`), so that the scenarios which crash the server run
/// against a deployed system too: `systemctl kill -s KILL eventflow` and
/// `systemctl start eventflow`, or `kubectl delete pod eventflow-0` and a command that waits
/// for its replacement.
public struct FaultHooks: Sendable {
    public var killCommand: String
    public var restartCommand: String
    /// How long each command may run, and how long the system may take to stop answering
    /// after the kill and to be ready after the restart.
    public var timeout: Duration

    public init(killCommand: String, restartCommand: String, timeout: Duration = .seconds(60)) {
        self.killCommand = killCommand
        self.restartCommand = restartCommand
        self.timeout = timeout
    }

    /// Runs the kill command, then waits (up to 10 s) until `system` stops answering
    /// `/readyz` with 200. Returns how it went, for the evidence; throws when the command fails.
    /// Behind a load balancer other instances may keep answering: that is reported, not failed.
    public func kill(_ system: HTTPProbe) async throws -> String {
        try await ShellCommand.run(killCommand, timeout: timeout)
        let started = ContinuousClock.now
        // A short timeout per probe: a connection to a killed process may never answer.
        let probe = HTTPProbe(baseURL: system.baseURL, timeout: .milliseconds(500), apiKey: system.apiKey)
        while ContinuousClock.now - started < .seconds(10) {
            if (try? await probe.get("/readyz").status) != 200 {
                return String(format: "kill command run; the system stopped answering after %.1f s", (ContinuousClock.now - started).seconds)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return "kill command run; the system kept answering (other instances behind its URL?)"
    }

    /// Runs the restart command, then waits until `system` answers `/readyz` with 200.
    public func restart(_ system: HTTPProbe) async throws -> String {
        let started = ContinuousClock.now
        try await ShellCommand.run(restartCommand, timeout: timeout)
        while ContinuousClock.now - started < timeout {
            if (try? await system.get("/readyz").status) == 200 {
                return String(format: "restart command run; ready after %.1f s", (ContinuousClock.now - started).seconds)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SpawnError("the system at \(system.baseURL) was not ready \(timeout) after the restart command '\(restartCommand)'")
    }
}

/// One command run through `/bin/sh -c`, bounded in time.
public enum ShellCommand {
    /// Runs `command` and waits for the shell to exit; throws with the tail of its output
    /// when it exits non-zero or is still running after `timeout` (then it is killed).
    /// The shell is started with posix_spawn and reaped with waitpid, its output going to a
    /// file: a restart command leaves a server running in the background, which would hold
    /// open a pipe, or Foundation's Process's own descriptors, long after the shell exits.
    public static func run(_ command: String, timeout: Duration) async throws {
        let directory = makeTemporaryDirectory(prefix: "eventflow-hook")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outputPath = directory + "/output"
        let pid = try spawn(command, outputPath: outputPath)
        let tail = { String((try? String(contentsOfFile: outputPath, encoding: .utf8))?.suffix(2_000) ?? "") }
        let exited = AsyncStream<Int32>.makeStream()
        let reaper = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1, errno == EINTR {}
            exited.continuation.yield(status)
            exited.continuation.finish()
        }
        reaper.start()
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await exited.stream.first { _ in true } }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            kill(pid, SIGKILL)
            throw SpawnError("'\(command)' did not finish within \(timeout); it printed:\n\(tail())")
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            throw SpawnError("'\(command)' \(how); it printed:\n\(tail())")
        }
    }

    /// Starts `/bin/sh -c command` with stdin from /dev/null and stdout and stderr to `outputPath`.
    private static func spawn(_ command: String, outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let words: [String] = ["/bin/sh", "-c", command]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, nil, arguments, environ)
        guard result == 0 else { throw SpawnError("cannot start /bin/sh for '\(command)': \(String(cString: strerror(result)))") }
        return pid
    }
}
