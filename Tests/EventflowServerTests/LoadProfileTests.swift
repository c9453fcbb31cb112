import AcceptanceKit
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

    @Test func badProfilesSayWhatIsWrong() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try """
        name: bad
        peak_events_per_second: 10
        multiplier: 1
        stages: [{ duration: soon, fraction: 1 }]
        mix: { events: 1 }
        batch: { sizes: [1], weights: [1] }
        connections: 1
        thresholds: { lost: "== 0" }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try LoadProfile.load(path: path)
        } throws: { error in
            String(describing: error).contains("stage duration 'soon'")
        }
    }
}
