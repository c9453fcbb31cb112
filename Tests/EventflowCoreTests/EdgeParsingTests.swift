import EventflowCore
import EventflowTesting
import Testing

/// Text and numbers from outside (flags, config, queries, peers' headers) are parsed
/// without trapping: out-of-range input is nil, never a crash.
@Suite struct EdgeParsingTests {
    @Test func durationsOutOfRangeAreRejectedNotTrapped() {
        for text in ["inf", "infs", "1e19s", "99999999999999999999d", "nan", "-1s", "-0.5", "1e400", "101y", "3200000000s"] {
            #expect(DurationText.seconds(text) == nil, "\(text)")
            #expect(DurationText.duration(text) == nil, "\(text)")
        }
        #expect(DurationText.seconds("500ms") == 0.5)
        #expect(DurationText.seconds(" 2m ") == 120)
        #expect(DurationText.seconds("1d") == 86_400)
        #expect(DurationText.seconds("7") == 7)
        #expect(DurationText.duration("1.5s") == .milliseconds(1500))
    }

    @Test func everyParsedDurationIsFiniteAndInRange() {
        for text in hostileTexts(count: 20_000, seed: 7) {
            if let seconds = DurationText.seconds(text) {
                #expect(seconds.isFinite && seconds >= 0 && seconds <= DurationText.maxSeconds, "\(text) → \(seconds)")
                _ = DurationText.duration(text)
            }
        }
    }

    @Test func checkedSecondsClampsWhatDurationSecondsWouldTrapOn() {
        #expect(Duration.checkedSeconds(.infinity) == .seconds(Int64(DurationText.maxSeconds)))
        #expect(Duration.checkedSeconds(1e30) == .seconds(Int64(DurationText.maxSeconds)))
        #expect(Duration.checkedSeconds(.nan) == .zero)
        #expect(Duration.checkedSeconds(-3) == .zero)
        #expect(Duration.checkedSeconds(0.25) == .milliseconds(250))
        #expect(Duration.seconds(Int64.max).milliseconds == .max)
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
    }

    @Test func retryAfterIsClampedToItsLimit() {
        #expect(RetryAfter.parse(" 3 ") == RetryAfter(seconds: 3))
        #expect(RetryAfter.parse("1e16") == RetryAfter(seconds: 3600, wasClamped: true))
        #expect(RetryAfter.parse("inf") == RetryAfter(seconds: 3600, wasClamped: true))
        #expect(RetryAfter.parse("120", limitSeconds: 60) == RetryAfter(seconds: 60, wasClamped: true))
        for text in ["nan", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "", "soon"] {
            #expect(RetryAfter.parse(text) == nil, "\(text)")
        }
        #expect(RetryAfter.parse(nil) == nil)
    }

    @Test func everyParsedRetryAfterLiesWithinTheLimit() {
        for text in hostileTexts(count: 20_000, seed: 11) {
            if let retryAfter = RetryAfter.parse(text, limitSeconds: 30) {
                #expect(retryAfter.seconds >= 0 && retryAfter.seconds <= 30, "\(text)")
            }
        }
    }

    @Test func aBackoffNeverWaitsLongerThanTheRetryAfterLimit() {
        let schedule = RetrySchedule(initial: 0.1, maximum: 10, multiplier: 2, maxRetryAfter: 60)
        #expect(schedule.delay(afterFailures: 1, random: 0.5, retryAfter: 1e16) == 60)
        #expect(schedule.delay(afterFailures: 1, random: 0, retryAfter: 2) == 2)
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
