import EventflowCore
import Testing

@Suite struct RetryScheduleTests {
    let schedule = RetrySchedule(initial: 0.1, maximum: 5, multiplier: 2)

    @Test func growsExponentiallyUpToTheCap() {
        #expect(schedule.ceiling(afterFailures: 1) == 0.1)
        #expect(schedule.ceiling(afterFailures: 2) == 0.2)
        #expect(schedule.ceiling(afterFailures: 4) == 0.8)
        #expect(schedule.ceiling(afterFailures: 10) == 5)
        #expect(schedule.ceiling(afterFailures: 1_000) == 5)
    }

    @Test func jittersOverTheWholeRangeAndHonoursRetryAfter() {
        #expect(schedule.delay(afterFailures: 3, random: 0) == 0)
        #expect(schedule.delay(afterFailures: 3, random: 0.5) == 0.2)
        #expect(schedule.delay(afterFailures: 3, random: 0.5, retryAfter: 3) == 3)
    }
}
