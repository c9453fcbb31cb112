import Testing

@testable import EventflowLog

@Suite struct WALRestartPolicyTests {
    private let start = ContinuousClock.now

    @Test func waitsUntilTheWALPassesItsThreshold() {
        let policy = WALRestartPolicy(byteThreshold: 100, minimumInterval: .milliseconds(500))
        #expect(!policy.shouldCheckpoint(walBytes: 0, now: start))
        #expect(!policy.shouldCheckpoint(walBytes: 100, now: start))
        #expect(policy.shouldCheckpoint(walBytes: 101, now: start))
    }

    @Test func checkpointsAtMostOncePerInterval() {
        var policy = WALRestartPolicy(byteThreshold: 100, minimumInterval: .milliseconds(500))
        policy.checkpointed(at: start)
        #expect(!policy.shouldCheckpoint(walBytes: 5_000, now: start + .milliseconds(499)))
        #expect(policy.shouldCheckpoint(walBytes: 5_000, now: start + .milliseconds(500)))
        #expect(!policy.shouldCheckpoint(walBytes: 50, now: start + .seconds(10)))
    }
}
