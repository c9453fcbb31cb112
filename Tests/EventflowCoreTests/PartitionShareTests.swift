import EventflowCore
import Testing

@Suite struct PartitionShareTests {
    @Test func aFairShareRoundsUp() {
        let share = PartitionShare(partitions: 4)
        #expect(share.share(members: 1) == 4)
        #expect(share.share(members: 3) == 2)
        #expect(share.share(members: 8) == 1)
        #expect(share.share(members: 0) == 4)
    }

    /// Short of its share, a process tries the partitions it does not run from the start
    /// it was given, in turn.
    @Test func claimsFreePartitionsFromTheStart() {
        let share = PartitionShare(partitions: 4)
        #expect(share.decide(members: 2, active: [], running: [], start: 3) == .claim(wanted: 2, candidates: [3, 0, 1, 2]))
        #expect(share.decide(members: 2, active: [1], running: [1, 2], start: 1) == .claim(wanted: 1, candidates: [3, 0]))
    }

    /// Over its share (more processes joined), a process lets its highest partitions go.
    @Test func handsOverTheHighestPartitions() {
        let share = PartitionShare(partitions: 4)
        #expect(share.decide(members: 2, active: [0, 1, 2, 3], running: [0, 1, 2, 3], start: 0) == .handOver([3, 2]))
        #expect(share.decide(members: 2, active: [0, 3], running: [0, 3], start: 0) == .keep)
        // Partitions it runs but is letting go are neither active nor free.
        #expect(share.decide(members: 1, active: [0, 1, 2], running: [0, 1, 2, 3], start: 0) == .keep)
    }
}
