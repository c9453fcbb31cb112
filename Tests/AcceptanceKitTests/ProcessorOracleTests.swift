import AcceptanceKit
import EventflowTesting
import Foundation
import HummingbirdTesting
import Testing

/// The performance-test's check of processor outputs, against a real server fed by the
/// real load generator: it agrees with correct outputs and finds a wrong one.
@Suite struct ProcessorOracleTests {
    @Test func agreesWithTheProcessorsAndFindsAnExtraEvent() async throws {
        try await withServer(storage: .sqlite) { _, port in
            let profile = try LoadProfile.load(path: LoadProfileTests.profileDirectory.appendingPathComponent("peak.yaml").path)
            let generator = LoadGenerator(
                configuration: .init(baseURL: "http://127.0.0.1:\(port)", connections: 8), profile: profile,
                schedule: profile.schedule(peak: 2_000, durationScale: 0.03), seed: 7, runID: "oracle\(port)")
            let load = await generator.run { _ in }
            #expect(load.acknowledgedEvents > 3_000)
            let oracle = ProcessorOracle(ledger: generator.ledger, factory: generator.factory, startedAtSeconds: load.startedAtSeconds)
            #expect(oracle.frameWindows.isEmpty == false && oracle.accounts.count > 50 && oracle.domains.count > 100 && oracle.logCounts.count == 20)
            let system = HTTPProbe(baseURL: "http://127.0.0.1:\(port)")
            #expect(try await mismatches(oracle, system, until: \.isEmpty) == [])

            let service = try #require(oracle.logCounts.keys.sorted().first)
            // On a connection of its own: the test client's has idled through the load and may be closed.
            let extra = #"{"service_name":"\#(service)","payload":"extra","severity":"fatal","timestamp":1763900000}"#
            #expect(try await concurrentPosts(port: port, path: "/v1/streams/logs/events", bodies: [extra], contentType: "application/json")[0].status == 202)
            let mismatches = try await mismatches(oracle, system) { !$0.isEmpty }
            #expect(mismatches.count == 1 && mismatches.first?.hasPrefix("logs \(service) fatal: ") == true, "\(mismatches)")
        }
    }

    /// Two runs against one system, with another client's frame of the present between them
    /// (as a smoke test sends): each run's oracle checks only what that run sent, its frames
    /// in an hour of the past of its own.
    @Test func runsAgainstOneSystemCheckOnlyTheirOwnData() async throws {
        try await withServer(storage: .sqlite) { _, port in
            let profile = try LoadProfile.load(path: LoadProfileTests.profileDirectory.appendingPathComponent("peak.yaml").path)
            let system = HTTPProbe(baseURL: "http://127.0.0.1:\(port)")
            var oracles: [ProcessorOracle] = []
            for round in 0..<2 {
                let run = RunIdentity()
                let started = Int(Date().timeIntervalSince1970)
                let generator = LoadGenerator(
                    configuration: .init(baseURL: system.baseURL, connections: 8), profile: profile,
                    schedule: profile.schedule(peak: 2_000, durationScale: 0.02), seed: 7, runID: "run\(run.tag)",
                    frameTimeShiftSeconds: started - Int(run.pastEpochSeconds))
                let load = await generator.run { _ in }
                let oracle = ProcessorOracle(ledger: generator.ledger, factory: generator.factory, startedAtSeconds: load.startedAtSeconds)
                #expect(oracle.frameWindows.keys.allSatisfy { $0 >= Int(run.pastEpochSeconds) - 600 && $0 < Int(run.pastEpochSeconds) + 3_600 })
                #expect(try await mismatches(oracle, system, until: \.isEmpty) == [], "run \(round)")
                oracles.append(oracle)
                if round == 0 {
                    let present = #"{"uid":"0123456789abcdef012","ts":\#(Int64(Date().timeIntervalSince1970 * 1000))}"#
                    #expect(try await concurrentPosts(port: port, path: "/v1/streams/frames/events", bodies: [present], contentType: "application/json")[0].status == 202)
                }
            }
            #expect(try await oracles[0].check(system) == [], "the first run's outputs after the second")
        }
    }

    @Test func acceptsWhatCopiesWithoutAnswerMayHaveStored() {
        var bounds = ProcessorOracle.Bounds(low: 3, high: 5)
        #expect(bounds.contains(3) && bounds.contains(5) && !bounds.contains(2) && !bounds.contains(6))
        bounds.high = 3
        #expect(bounds.description == "3")
    }

    /// The oracle's mismatches once `settled` holds for them (the processors commit a moment
    /// after the log does), or after 30 s.
    private func mismatches(_ oracle: ProcessorOracle, _ system: HTTPProbe, until settled: ([String]) -> Bool) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let found = try await oracle.check(system)
            if settled(found) || ContinuousClock.now >= deadline { return found }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// The planner's re-sends must be the very events sent before, so the system and the oracle see one event.
@Suite struct RequestPlannerTests {
    @Test func aReSendCarriesTheEventTimeOfTheFirstSend() throws {
        let profile = try LoadProfile.load(path: LoadProfileTests.profileDirectory.appendingPathComponent("5x-peak.yaml").path)
        var planner = RequestPlanner(profile: profile, schedule: profile.schedule(durationScale: 0.02), seed: 3)
        var firstSends: [String: PlannedRequest] = [:]
        var resends = 0
        while let request = planner.next() {
            let key = "\(request.stream)/\(request.firstEvent)"
            if request.isDuplicate {
                let original = try #require(firstSends[key])
                #expect(request.eventTime == original.eventTime && request.count == original.count)
                #expect(request.intendedTime >= original.intendedTime)
                resends += 1
            } else {
                #expect(request.eventTime == (request.eventTime * 1000).rounded() / 1000, "whole milliseconds")
                firstSends[key] = request
            }
        }
        #expect(resends > 10)
    }
}
