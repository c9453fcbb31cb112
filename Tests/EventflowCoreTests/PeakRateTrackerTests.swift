import EventflowCore
import Testing

@Suite struct PeakRateTrackerTests {
    @Test func averagesOverTheWindowAndKeepsThePeak() {
        var tracker = PeakRateTracker(windowSeconds: 10)
        for _ in 0..<10 { tracker.record(events: 1_000, over: 1) }
        #expect(tracker.currentRate == 1_000)
        for _ in 0..<5 { tracker.record(events: 3_000, over: 1) }
        #expect(tracker.currentRate == 2_000)
        for _ in 0..<10 { tracker.record(events: 0, over: 1) }
        #expect(tracker.currentRate == 0)
        #expect(tracker.peak == 2_000)
    }

    @Test func aShortBurstCountsOverTheWholeWindow() {
        var tracker = PeakRateTracker(windowSeconds: 10)
        tracker.record(events: 50_000, over: 1)
        #expect(tracker.peak == 5_000)
    }
}
