import AcceptanceKit
import Testing

@Suite struct RateScheduleTests {
    let schedule = RateSchedule(stages: [.init(duration: 10, rate: 1_000), .init(duration: 10, rate: 1_000), .init(duration: 0, rate: 5_000), .init(duration: 2, rate: 5_000)])

    @Test func rampsLinearlyHoldsAndJumps() {
        #expect(schedule.rate(at: 0) == 0)
        #expect(schedule.rate(at: 5) == 500)
        #expect(schedule.rate(at: 15) == 1_000)
        #expect(schedule.rate(at: 21) == 5_000)
        #expect(schedule.rate(at: 22) == 0)
        #expect(schedule.duration == 22)
    }

    @Test func integratesTheRate() {
        #expect(schedule.events(until: 10) == 5_000)
        #expect(schedule.events(until: 20) == 15_000)
        #expect(schedule.totalEvents == 25_000)
    }

    @Test func invertsTheIntegralToFixArrivalTimes() throws {
        for events in stride(from: 1.0, to: 25_000, by: 997) {
            let t = try #require(schedule.time(atEvents: events))
            #expect(abs(schedule.events(until: t) - events) < 1e-6)
        }
        #expect(schedule.time(atEvents: 25_001) == nil)
        #expect(abs(schedule.time(atEvents: 5_000)! - 10) < 1e-9)
    }

    @Test func scalesDurations() {
        let short = schedule.scaled(by: 0.1)
        #expect(short.duration == 2.2)
        #expect(abs(short.totalEvents - 2_500) < 1e-9)
    }
}
