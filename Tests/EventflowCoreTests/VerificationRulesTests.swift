import EventflowCore
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

@Suite struct ThresholdTests {
    @Test func parsesAndEvaluates() throws {
        #expect(try #require(Threshold("== 0")).passes(0))
        #expect(try #require(Threshold("== 0")).passes(1) == false)
        #expect(try #require(Threshold("< 50")).passes(49.9))
        #expect(try #require(Threshold("<50")).passes(50) == false)
        #expect(try #require(Threshold(">= 0.99")).passes(0.99))
        #expect(try #require(Threshold("<= 60")).passes(60))
        #expect(try #require(Threshold("> 0")).passes(0) == false)
        #expect(try #require(Threshold("!= 3")).passes(4))
        #expect(Threshold("about 5") == nil)
        #expect(Threshold("< fifty") == nil)
        #expect(Threshold(">= 0.99")?.description == ">= 0.99")
        #expect(Threshold("== 0")?.description == "== 0")
    }

    @Test func parsesDurations() {
        #expect(DurationText.seconds("500ms") == 0.5)
        #expect(DurationText.seconds("10s") == 10)
        #expect(DurationText.seconds("2m") == 120)
        #expect(DurationText.seconds("1h") == 3_600)
        #expect(DurationText.seconds("7") == 7)
        #expect(DurationText.seconds("soon") == nil)
    }
}

@Suite struct DeliveryVerdictTests {
    func records(_ entries: [(at: Int64, deliveries: UInt32)?]) -> TargetRecords {
        var records = TargetRecords(count: entries.count)
        for (index, entry) in entries.enumerated() {
            guard let entry else { continue }
            records.firstDeliveredAtMs[index] = entry.at
            records.deliveries[index] = entry.deliveries
        }
        return records
    }

    @Test func countsEveryClassOfOutcome() {
        let outcomes: [ClientOutcome] = [.acknowledged, .acknowledged, .acknowledged, .unknown, .unknown, .rejected, .rejected, .notSent, .notSent]
        let offsets: [Int64] = [0, 1, 2, -1, -1, -1, -1, -1, -1]
        // acknowledged ×2, acknowledged but lost, unknown but recovered, unknown, refused yet delivered
        // (unexpected), refused, never sent yet delivered (unexpected), never sent
        let delivered = records([(1_000, 1), (1_500, 2), nil, (1_200, 1), nil, (1_300, 1), nil, (900, 1), nil])
        let verdict = DeliveryVerdict.compute(outcomes: outcomes, offsets: offsets, delivered: delivered, unknownIDs: 2)
        #expect(verdict.attempted == 7)
        #expect(verdict.acknowledged == 3)
        #expect(verdict.delivered == 4)
        #expect(verdict.lost == 1)
        #expect(verdict.duplicated == 1)
        #expect(verdict.recovered == 1)
        #expect(verdict.unexpected == 4)
    }

    @Test func measuresTheWorstReorderingInAcceptanceOrder() {
        let outcomes = [ClientOutcome](repeating: .acknowledged, count: 5)
        let offsets: [Int64] = [4, 0, 1, 2, 3]
        // Offsets 0…4 delivered at 100, 5000, 200, 300, 150 (index order differs from offset order).
        let delivered = records([150, 100, 5_000, 200, 300].map { ($0, 1) })
        let verdict = DeliveryVerdict.compute(outcomes: outcomes, offsets: offsets, delivered: delivered, unknownIDs: 0)
        #expect(verdict.maxReorderSeconds == 4.85)
        #expect(verdict.lost == 0)
        let inOrder = DeliveryVerdict.compute(
            outcomes: outcomes, offsets: [0, 1, 2, 3, 4], delivered: records([1, 2, 3, 4, 5].map { ($0, 1) }),
            unknownIDs: 0)
        #expect(inOrder.maxReorderSeconds == 0)
    }
}
