import EventflowTesting
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import AcceptanceKit

/// The behaviour scenarios against a system the suite did not start: an `eventflow serve`
/// started, killed and restarted only through shell commands, as an operator's would be.
@Suite struct DeployedSystemTests {
    /// Each workload scenario twice in a row against one running system: the second run must
    /// not see the first's data, and the kills and restarts go through the fault hooks.
    @Test func workloadScenariosRunTwiceAgainstOneSystemThroughTheHooks() async throws {
        try await withDeployedSystem { context in
            for name in ["log-store", "domains", "accounts", "unique-users"] {
                let scenario = try #require(BehaviourScenarios.all.first { $0.name == name })
                #expect(context(RunIdentity()).unmetNeed(of: scenario) == nil)
                for round in 1...2 {
                    let result = try await scenario.run(context(RunIdentity()))
                    #expect(result.passed, "\(name), run \(round): \(result.evidence)")
                    #expect(result.evidence.contains { $0.hasPrefix("kill command run; the system stopped answering") }, "\(result.evidence)")
                }
            }
        }
    }

    /// Without hooks a scenario that kills says which flags it needs; with a spawned binary it needs none.
    @Test func aScenarioThatKillsNamesTheFlagsItNeeds() throws {
        let crash = try #require(BehaviourScenarios.all.first { $0.name == "crash" })
        let byURL = ScenarioContext(binary: nil, systemURL: "http://127.0.0.1:1", targetURL: "http://127.0.0.1:2")
        #expect(byURL.unmetNeed(of: crash) == "needs --spawn, or --kill-command and --restart-command")
        let spawned = ScenarioContext(binary: URL(fileURLWithPath: "/bin/true"), systemURL: nil, targetURL: nil)
        #expect(spawned.unmetNeed(of: crash) == nil)
        let diskFull = try #require(BehaviourScenarios.all.first { $0.name == "disk-full" })
        var hooked = byURL
        hooked.hooks = FaultHooks(killCommand: "true", restartCommand: "true")
        #expect(hooked.unmetNeed(of: crash) == nil && hooked.unmetNeed(of: diskFull) == "needs --spawn (it fills a small filesystem of its own)")
    }

    /// A scenario that needs a setting the given system does not have is skipped, naming it.
    @Test func backPressureNamesThePendingLimitItNeeds() async throws {
        try await withServer(storage: .sqlite) { _, port in
            let scenario = try #require(BehaviourScenarios.all.first { $0.name == "back-pressure" })
            let context = ScenarioContext(binary: nil, systemURL: "http://127.0.0.1:\(port)", targetURL: "http://127.0.0.1:9")
            #expect(context.unmetNeed(of: scenario) == nil)
            let result = try await scenario.run(context)
            #expect(result.skipReason?.hasPrefix("the system's pending limit is 200000 events") == true, "\(result.evidence)")
        }
    }

    @Test func aFailingOrHangingHookCommandIsAnErrorWithItsOutput() async throws {
        let failed = await #expect(throws: SpawnError.self) { try await ShellCommand.run("echo no such unit >&2; exit 5", timeout: .seconds(10)) }
        #expect(failed?.description.contains("exited with status 5") == true && failed?.description.contains("no such unit") == true, "\(String(describing: failed))")
        let started = ContinuousClock.now
        await #expect(throws: SpawnError.self) { try await ShellCommand.run("sleep 30", timeout: .milliseconds(300)) }
        #expect(ContinuousClock.now - started < .seconds(10))
        // A command that leaves a process running in the background returns when the shell exits.
        try await ShellCommand.run("sleep 30 > /dev/null 2>&1 &", timeout: .seconds(10))
    }

    /// Starts a reference target and an `eventflow serve` on a fixed free port through a
    /// shell command, gives `body` contexts (one per run identity) that kill and restart it
    /// through shell commands, and stops both after.
    private func withDeployedSystem(_ body: (@Sendable (RunIdentity) -> ScenarioContext) async throws -> Void) async throws {
        let target = try await SpawnedServer.start(arguments: ["target"])
        let directory = makeTemporaryDirectory(prefix: "eventflow-deployed")
        let port = try await Self.freePort()
        let binary = SpawnedServer.defaultBinary.path
        let start = """
            nohup '\(binary)' serve --data-dir '\(directory)/data' --port \(port) --target-url \(target.url)/deliver \
            --callback-url \(target.url)/callbacks >> '\(directory)/log' 2>&1 < /dev/null & echo $! > '\(directory)/pid'
            """
        let hooks = FaultHooks(killCommand: "kill -KILL $(cat '\(directory)/pid')", restartCommand: start, timeout: .seconds(60))
        let (systemURL, targetURL) = ("http://127.0.0.1:\(port)", target.url)
        do {
            _ = try await hooks.restart(HTTPProbe(baseURL: systemURL))
            try await body { ScenarioContext(binary: nil, systemURL: systemURL, targetURL: targetURL, hooks: hooks, run: $0) }
        } catch {
            Issue.record("\(error); the server logged:\n\((try? String(contentsOfFile: directory + "/log", encoding: .utf8))?.suffix(3_000) ?? "")")
        }
        try? await ShellCommand.run("kill -TERM $(cat '\(directory)/pid')", timeout: .seconds(10))
        await target.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A loopback port nothing listens on now.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
