import AcceptanceKit
import ArgumentParser
import Foundation

/// `smoke-test`: seconds-long check that a running Eventflow is alive and wired up.
@main
struct SmokeTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke-test",
        abstract: "Check in seconds that Eventflow is alive, ready, measurable and storing events.",
        discussion: """
            Checks /healthz, /readyz, that /metrics parses and has the required names, that one event \
            per stream is committed and readable (and, for stream events, reaches the target), and that \
            a bad request gets its 4xx.
            Exit status: 0 all checks passed, 1 a check failed, 2 could not run.
            """
    )

    @Option(help: "Base URL of a running Eventflow (default: none; give --url or --spawn).")
    var url: String?

    @Option(name: .customLong("target-url"), help: "Base URL of the reference target the system delivers to (default: none; with --url, skips the delivery check).")
    var targetURL: String?

    @Flag(help: "Start Eventflow and the reference target from the built binary, on free ports with a fresh data directory, and stop them at the end (default: off).")
    var spawn = false

    @Option(name: .customLong("eventflow-binary"), help: "The eventflow binary for --spawn (default: the one beside this binary).")
    var eventflowBinary: String?

    func validate() throws {
        guard (url != nil) != spawn else { throw ValidationError("give exactly one of --url URL or --spawn") }
    }

    func run() async throws {
        Console.printLineByLine()
        var spawned: [SpawnedServer] = []
        var dataDirectory: String?
        defer { if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) } }
        let baseURL: String
        var targetBaseURL = targetURL
        if let url {
            baseURL = url
        } else {
            do {
                let binary = eventflowBinary.map { URL(fileURLWithPath: $0) } ?? SpawnedServer.defaultBinary
                let target = try await SpawnedServer.start(binary: binary, arguments: ["target"])
                spawned.append(target)
                let directory = makeTemporaryDirectory(prefix: "eventflow-smoke")
                dataDirectory = directory
                let server = try await SpawnedServer.serve(
                    dataDirectory: directory,
                    arguments: ["--target-url", target.url + "/deliver"], binary: binary)
                spawned.append(server)
                print("spawned eventflow (pid \(server.process.processIdentifier)) at \(server.url), target (pid \(target.process.processIdentifier)) at \(target.url)")
                baseURL = server.url
                targetBaseURL = target.url
            } catch {
                print("could not start eventflow: \(error)")
                for process in spawned { await process.stop() }
                throw ExitCode(AcceptanceExitCode.couldNotRun)
            }
        }
        let probe = HTTPProbe(baseURL: baseURL, timeout: .seconds(5))
        do {
            _ = try await probe.get("/healthz")
        } catch {
            print("could not reach \(baseURL): \(error)")
            for process in spawned { await process.stop() }
            throw ExitCode(AcceptanceExitCode.couldNotRun)
        }

        let started = ContinuousClock.now
        let target = targetBaseURL.map { HTTPProbe(baseURL: $0, timeout: .seconds(5)) }
        let report = await SmokeChecks(probe: probe, target: target).run()
        for process in spawned.reversed() { await process.stop() }
        print(report.summary)
        print("took \(ContinuousClock.now - started)")
        if !report.passed { throw ExitCode(AcceptanceExitCode.failed) }
    }
}
