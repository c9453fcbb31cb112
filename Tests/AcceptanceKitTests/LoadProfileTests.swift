import AcceptanceKit
import EventflowTesting
import Foundation
import Testing

@Suite struct LoadProfileTests {
    static var profileDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LoadProfiles")
    }

    static var profiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: profileDirectory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func theFiveProfilesExist() {
        #expect(Self.profiles == ["5x-peak.yaml", "peak.yaml", "soak.yaml", "spike.yaml", "target-bottleneck.yaml"])
    }

    @Test(arguments: profiles)
    func everyProfileLoadsWithASaneSchedule(_ file: String) throws {
        let profile = try LoadProfile.load(path: Self.profileDirectory.appendingPathComponent(file).path)
        #expect(profile.name + ".yaml" == file)
        let schedule = profile.schedule()
        #expect(schedule.duration > 0)
        #expect(schedule.totalEvents > 0)
        #expect(abs(profile.mix.map(\.share).reduce(0, +) - 1) < 1e-9)
        #expect(profile.thresholds.contains { $0.figure == "lost" && $0.rule.passes(0) && !$0.rule.passes(1) })
    }

    @Test func fiveTimesPeakSustains25000EventsPerSecondForAMinute() throws {
        let profile = try LoadProfile.load(path: Self.profileDirectory.appendingPathComponent("5x-peak.yaml").path)
        let schedule = profile.schedule()
        #expect(schedule.rate(at: 20) == 25_000)
        #expect(schedule.rate(at: 74) == 25_000)
        #expect(schedule.scaled(by: 0.5).duration == schedule.duration / 2)
    }

    /// Each value a profile holds is checked before use, and the error names its key. Before
    /// these checks, a negative or NaN fraction trapped in the schedule, an infinite peak made
    /// an endless run, a name with '/' wrote results outside the results folder, and a bad
    /// drain limit or late delay was silently replaced.
    @Test(arguments: [
        ("peak_events_per_second: .inf", "peak_events_per_second"),
        ("peak_events_per_second: .nan", "peak_events_per_second"),
        ("peak_events_per_second: 0", "peak_events_per_second"),
        ("multiplier: -5", "multiplier"),
        ("stages: [{ duration: 10s, fraction: -1 }]", "stages[0].fraction"),
        ("stages: [{ duration: 10s, fraction: .nan }]", "stages[0].fraction"),
        ("stages: []", "stages"),
        ("stages: [{ duration: soon, fraction: 1 }]", "stages[0].duration 'soon'"),
        ("stages: [{ duration: 1e30s, fraction: 1 }]", "stages[0].duration"),
        ("name: ../../escaped", "name"),
        ("mix: { events: .inf }", "mix.events"),
        ("mix: { \"a/b\": 1 }", "'a/b' is not a stream name"),
        ("batch: { sizes: [1, 2], weights: [1, -3] }", "batch.weights[1]"),
        ("batch: { sizes: [0], weights: [1] }", "batch.sizes[0]"),
        ("connections: 0", "connections"),
        ("late: { fraction: 0.1, max_delay: later }", "late.max_delay"),
        ("late: { fraction: 2, max_delay: 5s }", "late.fraction"),
        ("duplicates: -0.1", "duplicates"),
        ("drain_limit: whenever", "drain_limit"),
        ("target: { rate: -1 }", "target.rate"),
        ("target: { error_rate: 1.5 }", "target.error_rate"),
        ("peak_events_per_second: 10000000\nmultiplier: 1000", "at most"),
    ])
    func everyValueIsCheckedAndTheErrorNamesItsKey(line: String, expected: String) throws {
        let base = [
            "name": "name: checked", "peak_events_per_second": "peak_events_per_second: 10", "multiplier": "multiplier: 1",
            "stages": "stages: [{ duration: 10s, fraction: 1 }]", "mix": "mix: { events: 1 }", "batch": "batch: { sizes: [1], weights: [1] }",
            "connections": "connections: 1", "thresholds": "thresholds: { lost: \"== 0\" }",
        ]
        let replaced = Set(line.split(separator: "\n").map { String($0.prefix { $0 != ":" }) })
        let text = (base.filter { !replaced.contains($0.key) }.map(\.value) + [line]).joined(separator: "\n")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try LoadProfile.load(path: path)
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }
}
