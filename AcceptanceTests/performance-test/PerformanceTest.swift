import AcceptanceKit
import ArgumentParser
import Foundation

/// `performance-test`: drives Eventflow with a load profile and verifies what held.
@main
struct PerformanceTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "performance-test",
        abstract: "Drive Eventflow at a multiple of its peak, then verify no loss, the ordering window and throughput.",
        discussion: """
            Open model: send times come from the profile's schedule, never from the answers; latency counts \
            from the intended send time; the generator reports its own lag. Scrapes /metrics every second, \
            waits for the backlog to drain, compares what was acknowledged with the target's ledger, and \
            writes results/<profile>-<UTC time>/ (metrics.prom, summary.json, junit.xml, report.html).
            Exit status: 0 every threshold held, 1 one failed, 2 could not run.
            """
    )

    @Option(help: "Load profile (YAML), e.g. LoadProfiles/5x-peak.yaml.")
    var profile: String

    @Option(name: .customLong("duration-scale"), help: "Multiply every stage's duration by this (e.g. 0.1 for CI).")
    var durationScale = 1.0

    @Option(name: .customLong("peak-from"), help: "Take the peak from this system's eventflow_ingest_peak_events_per_second (default: the profile's).")
    var peakFrom: String?

    @Option(help: "Seed of the generated load; the same seed sends the same events.")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("report-only"), parsing: .singleValue,
        help: ArgumentHelp(
            "Check and report this profile threshold (e.g. ingest_p99_ms) but leave it out of the verdict; repeatable (default: none, every threshold counts).",
            discussion: "For benchmark figures on machines that cannot promise them, such as a shared CI runner."))
    var reportOnly: [String] = []

    @Option(help: "Folder the results folder is written under.")
    var out = "results"

    @Option(help: "Base URL of a running Eventflow (default: none; give --url and --target-url, or --spawn).")
    var url: String?

    @Option(name: .customLong("target-url"), help: "Base URL of the reference target that Eventflow delivers to (default: none).")
    var targetURL: String?

    @Flag(help: "Start Eventflow and the reference target (configured from the profile's target section) and stop them at the end (default: off).")
    var spawn = false

    @Option(name: .customLong("eventflow-binary"), help: "The eventflow binary for --spawn (default: the one beside this binary).")
    var eventflowBinary: String?

    func validate() throws {
        guard spawn != (url != nil) else { throw ValidationError("give --url URL --target-url URL, or --spawn") }
        if url != nil, targetURL == nil { throw ValidationError("--url needs --target-url: the verdict reads the target's ledger") }
        guard durationScale.isFinite, durationScale > 0, durationScale <= 1_000 else {
            throw ValidationError("--duration-scale must be above 0 and at most 1000 (got \(durationScale))")
        }
    }

    func run() async throws {
        Console.printLineByLine()
        let loaded: LoadProfile
        do {
            loaded = try LoadProfile.load(path: profile)
            let unknown = Set(reportOnly).subtracting(loaded.thresholds.map(\.figure))
            guard unknown.isEmpty else {
                throw ValidationError(
                    "--report-only \(unknown.sorted().joined(separator: ", ")): \(profile) has no such threshold "
                        + "(it has \(loaded.thresholds.map(\.figure).joined(separator: ", ")))")
            }
        } catch {
            print("error: \(error)")
            throw ExitCode(AcceptanceExitCode.couldNotRun)
        }
        let system: SystemUnderTest
        do {
            system = try await startSystem(for: loaded)
        } catch {
            print("could not start the system: \(error)")
            throw ExitCode(AcceptanceExitCode.couldNotRun)
        }
        let outcome: PerformanceOutcome
        do {
            var peak: Double?
            if let peakFrom { peak = try await Self.measuredPeak(peakFrom) }
            outcome = try await PerformanceRun.run(
                PerformanceOptions(
                    profile: loaded, durationScale: durationScale, peak: peak, seed: seed, resultsBase: out, systemURL: system.systemURL,
                    targetURL: system.targetURL!, reportOnly: Set(reportOnly))
            ) { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        } catch {
            await system.stop()
            print("the run could not complete: \(error)")
            throw ExitCode(AcceptanceExitCode.couldNotRun)
        }
        await system.stop()
        print(Self.table(outcome))
        print("results: \(outcome.directory)/report.html")
        if !outcome.passed { throw ExitCode(AcceptanceExitCode.failed) }
    }

    private func startSystem(for profile: LoadProfile) async throws -> SystemUnderTest {
        guard spawn else { return SystemUnderTest(systemURL: url!, targetURL: targetURL) }
        var targetArguments: [String] = []
        var serveArguments: [String] = []
        if let rate = profile.target.rate {
            let burst = profile.target.burst ?? rate
            targetArguments += ["--rate", String(rate), "--burst", String(burst)]
            serveArguments += ["--target-rate", String(rate), "--target-burst", String(burst)]
        }
        if let callbackRate = profile.target.callbackRate {
            targetArguments += ["--callback-rate", String(callbackRate), "--callback-burst", String(profile.target.callbackBurst ?? callbackRate)]
        }
        if let errorRate = profile.target.errorRate { targetArguments += ["--error-rate", String(errorRate)] }
        if let batch = profile.target.batch { serveArguments += ["--target-batch", String(batch)] }
        let binary = eventflowBinary.map { URL(fileURLWithPath: $0) } ?? SpawnedServer.defaultBinary
        let system = try await SystemUnderTest.spawn(binary: binary, targetArguments: targetArguments, serveArguments: serveArguments)
        FileHandle.standardError.write(Data("spawned \(system.description)\n".utf8))
        return system
    }

    /// The sum over streams of the system's measured peak rate.
    static func measuredPeak(_ url: String) async throws -> Double {
        let base = url.hasSuffix("/metrics") ? String(url.dropLast("/metrics".count)) : url
        let samples = try PrometheusText.parse(try await HTTPProbe(baseURL: base).get("/metrics").text)
        let peak = samples.filter { $0.name == "eventflow_ingest_peak_events_per_second" }.reduce(0) { $0 + $1.value }
        guard peak != 0 else { throw ValidationError("\(url) reports no peak yet (eventflow_ingest_peak_events_per_second is 0)") }
        return try LoadProfile.checkedPeak(peak, source: "\(url)'s eventflow_ingest_peak_events_per_second")
    }

    static func table(_ outcome: PerformanceOutcome) -> String {
        var lines = ["", "check                    figure          threshold   result"]
        for threshold in outcome.thresholds {
            let value = threshold.value.map { String(format: "%.3f", $0) } ?? "n/a"
            lines.append(
                threshold.figure.padding(toLength: 24, withPad: " ", startingAt: 0) + " " + value.padding(toLength: 15, withPad: " ", startingAt: 0) + " "
                    + threshold.rule.padding(toLength: 11, withPad: " ", startingAt: 0) + " " + threshold.resultText)
        }
        let failed = outcome.thresholds.filter { !$0.holds }.count
        let reportOnly = outcome.thresholds.filter(\.reportOnly).map(\.figure)
        lines.append("")
        lines.append(outcome.passed ? "VERDICT: PASS (\(outcome.thresholds.count) thresholds)" : "VERDICT: FAIL (\(failed) of \(outcome.thresholds.count) thresholds failed)")
        if !reportOnly.isEmpty { lines.append("not part of the verdict (--report-only): \(reportOnly.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}
