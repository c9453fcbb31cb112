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
            fresh Eventflow and reference target; against --url/--target-url, scenarios that must kill or \
            reconfigure the system are skipped, as is disk-full without root; the verdict counts skips apart. Writes results/behaviour-<UTC time>/ (summary.json, junit.xml).
            Exit status: 0 all passed, 1 a scenario failed, 2 could not run.
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

    @Option(help: "Folder the results folder is written under.")
    var out = "results"

    func validate() throws {
        guard !list else { return }
        guard spawn != (url != nil), spawn || targetURL != nil else { throw ValidationError("give --spawn, or --url URL --target-url URL") }
        let known = Set(BehaviourScenarios.all.map(\.name))
        if let unknown = scenarios.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown scenario '\(unknown)'; --list shows them")
        }
    }

    func run() async throws {
        if list {
            for scenario in BehaviourScenarios.all {
                print("\(scenario.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(scenario.summary)\(scenario.needsSpawn ? " (needs --spawn)" : "")\(scenario.needsPostgres ? " (needs --postgres-url)" : "")")
            }
            return
        }
        let selected = BehaviourScenarios.all.filter { scenarios.isEmpty || scenarios.contains($0.name) }
        let context = ScenarioContext(
            binary: spawn ? eventflowBinary.map { URL(fileURLWithPath: $0) } ?? SpawnedServer.defaultBinary : nil, systemURL: url,
            targetURL: targetURL, postgresURL: postgresURL ?? ProcessInfo.processInfo.environment["EVENTFLOW_POSTGRES_URL"])
        let started = Date()
        var results: [(name: String, outcome: String, evidence: [String], seconds: Double)] = []
        for scenario in selected {
            guard spawn || !scenario.needsSpawn else {
                print("SKIP  \(scenario.name) — needs --spawn")
                results.append((scenario.name, "SKIP", ["needs --spawn"], 0))
                continue
            }
            guard context.postgresURL != nil || !scenario.needsPostgres else {
                print("SKIP  \(scenario.name) — needs --postgres-url")
                results.append((scenario.name, "SKIP", ["needs --postgres-url"], 0))
                continue
            }
            let clock = ContinuousClock.now
            let outcome: String
            let evidence: [String]
            do {
                let result = try await scenario.run(context)
                (outcome, evidence) = (result.skipReason != nil ? "SKIP" : result.passed ? "PASS" : "FAIL", result.evidence)
            } catch {
                (outcome, evidence) = ("FAIL", ["could not complete: \(error)"])
            }
            let (seconds, attoseconds) = (ContinuousClock.now - clock).components
            let elapsed = Double(seconds) + Double(attoseconds) / 1e18
            print("\(outcome)  \(scenario.name) (\(String(format: "%.1f", elapsed)) s)")
            for line in evidence { print("      \(line)") }
            results.append((scenario.name, outcome, evidence, elapsed))
        }
        let failed = results.filter { $0.outcome == "FAIL" }
        let directory = try ResultsWriter.makeRunDirectory(base: out, profile: "behaviour", started: started)
        try ResultsWriter.writeSummary(
            [
                "verdict": failed.isEmpty ? "PASS" : "FAIL",
                "scenarios": results.map { ["name": $0.name, "result": $0.outcome, "evidence": $0.evidence, "seconds": $0.seconds] as [String: Any] },
            ], to: directory)
        try ResultsWriter.writeJUnit(
            suite: "behaviour-test", cases: results.filter { $0.outcome != "SKIP" }.map { ($0.name, $0.outcome == "PASS", false, $0.evidence.joined(separator: "; ")) },
            seconds: results.reduce(0) { $0 + $1.seconds }, to: directory)
        print("")
        let passed = results.filter { $0.outcome == "PASS" }.count
        let skipped = results.filter { $0.outcome == "SKIP" }
        let skips = skipped.isEmpty ? "" : ", \(skipped.count) skipped: \(skipped.map(\.name).joined(separator: ", "))"
        print(
            failed.isEmpty
                ? "VERDICT: PASS (\(passed) passed\(skips))"
                : "VERDICT: FAIL (\(failed.count) failed: \(failed.map(\.name).joined(separator: ", ")); \(passed) passed\(skips))")
        print("results: \(directory)")
        if !failed.isEmpty { throw ExitCode(AcceptanceExitCode.failed) }
    }
}
