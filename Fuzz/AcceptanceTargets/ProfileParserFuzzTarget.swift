#if canImport(AcceptanceKit)
import AcceptanceKit
#endif
import EventflowCore
import Foundation

/// Fuzz target: load profiles through the checks `LoadProfile` applies to a decoded profile,
/// then through the schedule and request planner the generator runs from it. The input is
/// the profile as JSON (YAML's subset that Foundation decodes; `"inf"` and `"nan"` stand for
/// YAML's `.inf` and `.nan`); reading YAML itself is Yams'.
/// `make fuzz` runs it under libFuzzer (`Fuzz/Entry`); `FuzzRegressionTests` replays its seed
/// corpus and every crash found.
///
/// A crash, or a broken invariant (a `precondition` here), is a finding.
public enum ProfileParserFuzzTarget {
    /// Requests planned per accepted profile: enough to cross stages and pick every batch size.
    static let plannedRequests = 200

    public static func run(_ input: UnsafeRawBufferPointer) {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let document = try? decoder.decode(LoadProfile.Document.self, from: Data(input)),
            let profile = try? LoadProfile(document, source: "fuzz")
        else { return }
        let schedule = profile.schedule()
        precondition(schedule.duration.isFinite && schedule.totalEvents.isFinite, "an accepted profile with an endless schedule")
        precondition(schedule.stages.allSatisfy { $0.rate <= LoadProfile.maxOfferedEventsPerSecond }, "a rate beyond what can be offered")
        precondition(profile.connections >= 1 && profile.drainLimitSeconds.isFinite, "connections or drain limit out of range")
        var planner = RequestPlanner(profile: profile, schedule: schedule, seed: 1)
        var previousTime = 0.0
        for _ in 0..<plannedRequests {
            guard let request = planner.next() else { break }
            precondition(request.count >= 1 && request.firstEvent >= 0, "a request without events")
            precondition(request.intendedTime.isFinite && request.intendedTime >= previousTime, "send times out of order")
            precondition(profile.mix.contains { $0.stream == request.stream }, "a stream outside the mix")
            previousTime = request.intendedTime
        }
    }
}
