import EventflowLog
import Testing

/// Which batches retention deletes: of age, wholly below the slowest cursor, and when it looks again.
@Suite struct RetentionRuleTests {
    private let rule = RetentionRule(maxAgeMs: 1_000)
    /// Batches of offsets 0…9, 10…19 and 20…29, committed at 100, 200 and 5,000 ms.
    private let oldest = [
        RetainedBatch(firstOffset: 0, lastOffset: 9, acceptedAtMs: 100),
        RetainedBatch(firstOffset: 10, lastOffset: 19, acceptedAtMs: 200),
        RetainedBatch(firstOffset: 20, lastOffset: 29, acceptedAtMs: 5_000),
    ]

    @Test func deletesBatchesOfAgeThatEveryProcessorPassed() {
        #expect(rule.decide(oldest: oldest, slowestCursor: 30, nowMs: 2_000) == .init(deleteBelow: 20, nextLookAtMs: 6_000))
        #expect(rule.decide(oldest: oldest, slowestCursor: nil, nowMs: 1_150) == .init(deleteBelow: 10, nextLookAtMs: 1_200))
    }

    /// A batch a processor has not wholly passed stays, and so does every later one.
    @Test func neverPassesTheSlowestCursor() {
        #expect(rule.decide(oldest: oldest, slowestCursor: 15, nowMs: 9_000).deleteBelow == 15)
        #expect(rule.decide(oldest: oldest, slowestCursor: 5, nowMs: 9_000).deleteBelow == nil)
        #expect(rule.decide(oldest: oldest, slowestCursor: 0, nowMs: 9_000).deleteBelow == nil)
    }

    @Test func nothingOfAgeWaitsForTheOldestOrForTheMaximumAge() {
        #expect(rule.decide(oldest: oldest, slowestCursor: 30, nowMs: 500) == .init(deleteBelow: nil, nextLookAtMs: 1_100))
        #expect(rule.decide(oldest: [], slowestCursor: nil, nowMs: 500) == .init(deleteBelow: nil, nextLookAtMs: 1_500))
        #expect(RetentionRule(maxAgeMs: 0).decide(oldest: oldest, slowestCursor: 30, nowMs: 5_000).deleteBelow == 30)
        // A batch read from a damaged file does not trap the rule.
        let damaged = [RetainedBatch(firstOffset: 0, lastOffset: .max, acceptedAtMs: 0)]
        #expect(rule.decide(oldest: damaged, slowestCursor: nil, nowMs: 5_000).deleteBelow == nil)
    }
}
