import AcceptanceKit
import ArgumentParser
import Foundation

/// `behaviour-test`: named scenarios that each prove one behaviour, with evidence.
@main
struct BehaviourTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "behaviour-test",
        abstract: "Run Eventflow's behaviour scenarios (malformed and hostile input, hostile peers, slow clients, a full disk, crashes, outage, errors, rate limit, duplicates, ordering, back pressure, per-stream oracles, scale-out on PostgreSQL).",
        discussion: """
            Each scenario prints PASS or FAIL with its evidence. With --spawn every scenario starts its own \
            fresh Eventflow and reference target. Against --url/--target-url, every scenario names its data \
            after the run (ids, accounts, domains, services, an hour of the past for its frames), so that \
            other traffic and earlier runs do not confuse it; the scenarios that kill the server need \
            --kill-command and --restart-command, and those that start the system with flags or a \
            filesystem of their own need --spawn (disk-full also needs root). A skip is never a pass: the \
            verdict counts passed, failed and skipped scenarios and gives each skip's reason, junit.xml marks \
            skips <skipped>, and with --require-all any skip fails the run. Writes \
            results/behaviour-<UTC time>/ (summary.json, junit.xml).
            Exit status: 0 all passed, 1 a scenario failed (or, with --require-all, was skipped), 2 could not run.
            """
    )

    @Flag(help: "List the scenarios and exit.")
    var list = false

    @Option(name: .customLong("scenario"), help: "Run only this scenario; repeatable (default: all).")
    var scenarios: [String] = []

    @Option(help: "Base URL of a running Eventflow (default: none; give --url and --target-url, or --spawn).")
    var url: String?

    @Option(name: .customLong("target-url"), help: "Base URL of the reference target Eventflow delivers to (default: none).")
    var targetURL: String?

    @Option(
        name: .customLong("postgres-url"),
        help: "PostgreSQL server for the scale-out scenario, which creates a fresh database there (default: $EVENTFLOW_POSTGRES_URL; 'make postgres' starts one).")
    var postgresURL: String?

    @Flag(help: "Start a fresh Eventflow and reference target for each scenario, and stop them after (default: off).")
    var spawn = false

    @Option(name: .customLong("eventflow-binary"), help: "The eventflow binary for --spawn (default: the one beside this binary).")
    var eventflowBinary: String?

    @Option(
        name: .customLong("kill-command"),
        help: "Against --url: shell command that kills the server as a crash would, e.g. 'systemctl kill -s KILL eventflow' (default: none; the scenarios that kill are skipped).")
    var killCommand: String?

    @Option(
        name: .customLong("restart-command"),
        help: "Against --url: shell command that starts the killed server again on its data, e.g. 'systemctl start eventflow'; the system must answer /readyz 200 within --hook-timeout (default: none).")
    var restartCommand: String?

    @Option(
        name: .customLong("target-admin-key"),
        help: "Admin key of the reference target at --target-url, for the scenarios that set its faults and rate limit (default: $EVENTFLOW_TARGET_ADMIN_KEY, else none).")
    var targetAdminKey: String?

    @Option(name: .customLong("hook-timeout"), help: "Seconds each hook command may run, and the server may take to be ready after a restart (default: 60).")
    var hookTimeout: Double = 60

    @Flag(
        name: .customLong("require-all"),
        help: "Fail the run when any scenario is skipped, as a release gate should (default: off; on in 'make acceptance').")
    var requireAll = false

    @Option(help: "Folder the results folder is written under.")
    var out = "results"

    func validate() throws {
        guard !list else { return }
        guard spawn != (url != nil), spawn || targetURL != nil else { throw ValidationError("give --spawn, or --url URL --target-url URL") }
        guard (killCommand == nil) == (restartCommand == nil) else { throw ValidationError("give --kill-command and --restart-command together") }
        guard killCommand == nil || !spawn else { throw ValidationError("--kill-command and --restart-command are for a system given by --url; --spawn kills what it started") }
        guard hookTimeout > 0, hookTimeout <= 3_600 else { throw ValidationError("--hook-timeout must be between 0 and 3600 seconds") }
        let known = Set(BehaviourScenarios.all.map(\.name))
        if let unknown = scenarios.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown scenario '\(unknown)'; --list shows them")
        }
    }

    func run() async throws {
        Console.printLineByLine()
        if list {
            for scenario in BehaviourScenarios.all {
                let needs = (scenario.spawnReason.map { " (needs --spawn: \($0))" } ?? "") + (scenario.needsRestart ? " (needs --spawn or the kill and restart commands)" : "")
                    + (scenario.needsPostgres ? " (needs --postgres-url)" : "")
                print("\(scenario.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(scenario.summary)\(needs)")
            }
            return
        }
        let selected = BehaviourScenarios.all.filter { scenarios.isEmpty || scenarios.contains($0.name) }
        let context = ScenarioContext(
            binary: spawn ? eventflowBinary.map { URL(fileURLWithPath: $0) } ?? SpawnedServer.defaultBinary : nil, systemURL: url,
            targetURL: targetURL, postgresURL: postgresURL ?? ProcessInfo.processInfo.environment["EVENTFLOW_POSTGRES_URL"],
            hooks: killCommand.flatMap { kill in
                restartCommand.map { FaultHooks(killCommand: kill, restartCommand: $0, timeout: .checkedSeconds(hookTimeout)) }
            },
            targetAdminKey: targetAdminKey ?? ProcessInfo.processInfo.environment["EVENTFLOW_TARGET_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 })
        let started = Date()
        var outcomes: [BehaviourVerdict.Outcome] = []
        for scenario in selected {
            if let unmet = context.unmetNeed(of: scenario) {
                print("SKIP  \(scenario.name) — \(unmet)")
                outcomes.append(.init(name: scenario.name, result: .skipped(reason: unmet), evidence: [unmet], seconds: 0))
                continue
            }
            let clock = ContinuousClock.now
            let result: BehaviourVerdict.Result
            let evidence: [String]
            do {
                let found = try await scenario.run(context)
                result = found.skipReason.map { .skipped(reason: $0) } ?? (found.passed ? .passed : .failed)
                evidence = found.evidence
            } catch {
                (result, evidence) = (.failed, ["could not complete: \(error)"])
            }
            let (seconds, attoseconds) = (ContinuousClock.now - clock).components
            let elapsed = Double(seconds) + Double(attoseconds) / 1e18
            print("\(result.label)  \(scenario.name) (\(String(format: "%.1f", elapsed)) s)")
            for line in evidence { print("      \(line)") }
            outcomes.append(.init(name: scenario.name, result: result, evidence: evidence, seconds: elapsed))
        }
        let verdict = BehaviourVerdict(outcomes: outcomes, requireAll: requireAll)
        let directory = try ResultsWriter.makeRunDirectory(base: out, profile: "behaviour", started: started)
        try ResultsWriter.writeSummary(verdict.summary, to: directory)
        try ResultsWriter.writeJUnit(suite: "behaviour-test", cases: verdict.junitCases, seconds: outcomes.reduce(0) { $0 + $1.seconds }, to: directory)
        print("")
        print("VERDICT: \(verdict.line)")
        print("results: \(directory)")
        if !verdict.passed { throw ExitCode(AcceptanceExitCode.failed) }
    }
}
