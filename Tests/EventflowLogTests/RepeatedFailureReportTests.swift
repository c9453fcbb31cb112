import Testing

@testable import EventflowLog

@Suite struct RepeatedFailureReportTests {
    private let start = ContinuousClock.now

    @Test func anOutageIsReportedOnceASecondWithTheFailuresItStandsFor() {
        var report = RepeatedFailureReport(interval: .seconds(1))
        #expect(report.failed("down", at: start) == 1)
        for step in 1...99 { #expect(report.failed("down", at: start + .milliseconds(step * 10)) == nil) }
        #expect(report.failed("down", at: start + .seconds(1)) == 100)
        #expect(report.failed("down", at: start + .milliseconds(1_500)) == nil)
        #expect(report.succeeded() == 102)
        #expect(report.succeeded() == nil)
    }

    @Test func aDifferentErrorIsReportedAtOnce() {
        var report = RepeatedFailureReport(interval: .seconds(1))
        _ = report.failed("down", at: start)
        #expect(report.failed("disk full", at: start + .milliseconds(10)) == 1)
    }

    @Test func theFirstFailureAfterARecoveryIsReportedAtOnce() {
        var report = RepeatedFailureReport(interval: .seconds(1))
        _ = report.failed("down", at: start)
        #expect(report.succeeded() == 1)
        #expect(report.failed("down", at: start + .milliseconds(10)) == 1)
    }
}

@Suite struct ReconnectPacingTests {
    private let start = ContinuousClock.now

    @Test func waitsLongerAfterEachFailedAttemptUpToTwoSeconds() {
        var pacing = ReconnectPacing()
        #expect(pacing.mayConnect(at: start))
        var now = start
        var waits: [Duration] = []
        for _ in 0..<8 {
            pacing.failed("refused", at: now, random: 0.999)
            #expect(!pacing.mayConnect(at: now))
            var next = now
            while !pacing.mayConnect(at: next) { next += .milliseconds(1) }
            waits.append(next - now)
            now = next
        }
        #expect(waits.first! <= .milliseconds(100) && waits.first! > .milliseconds(95))
        #expect(zip(waits, waits.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(waits.last! <= .seconds(2) && waits.last! > .milliseconds(1_900))
        #expect(pacing.lastError == "refused")
    }

    @Test func aConnectionStartsThePacingOver() {
        var pacing = ReconnectPacing()
        pacing.failed("refused", at: start, random: 0)
        pacing.failed("refused", at: start, random: 0)
        pacing.connected()
        #expect(pacing.mayConnect(at: start))
        #expect(pacing.lastError == nil)
        pacing.failed("refused", at: start, random: 0)
        #expect(pacing.mayConnect(at: start + .milliseconds(50)))
    }
}
