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
            per stream is committed and readable, and that a bad request gets its 4xx.
            Exit status: 0 all checks passed, 1 a check failed, 2 could not run.
            """
    )

    @Option(help: "Base URL of a running Eventflow (default: none; give --url or --spawn).")
    var url: String?

    @Flag(help: "Start Eventflow itself from the built binary, on a free port with a fresh data directory, and stop it at the end (default: off).")
    var spawn = false

    @Option(name: .customLong("eventflow-binary"), help: "The eventflow binary for --spawn (default: the one beside this binary).")
    var eventflowBinary: String?

    func validate() throws {
        guard (url != nil) != spawn else { throw ValidationError("give exactly one of --url URL or --spawn") }
    }

    func run() async throws {
        var server: SpawnedServer?
        let baseURL: String
        if let url {
            baseURL = url
        } else {
            do {
                let binary = eventflowBinary.map { URL(fileURLWithPath: $0) } ?? SpawnedServer.defaultBinary
                let spawned = try await SpawnedServer.serve(dataDirectory: makeTemporaryDirectory(prefix: "eventflow-smoke"), binary: binary)
                print("spawned eventflow (pid \(spawned.process.processIdentifier)) at \(spawned.url)")
                server = spawned
                baseURL = spawned.url
            } catch {
                print("could not start eventflow: \(error)")
                throw ExitCode(AcceptanceExitCode.couldNotRun)
            }
        }
        let probe = HTTPProbe(baseURL: baseURL, timeout: .seconds(5))
        do {
            _ = try await probe.get("/healthz")
        } catch {
            print("could not reach \(baseURL): \(error)")
            await server?.stop()
            throw ExitCode(AcceptanceExitCode.couldNotRun)
        }

        let started = ContinuousClock.now
        let report = await SmokeChecks(probe: probe).run()
        await server?.stop()
        print(report.summary)
        print("took \(ContinuousClock.now - started)")
        if !report.passed { throw ExitCode(AcceptanceExitCode.failed) }
    }
}
