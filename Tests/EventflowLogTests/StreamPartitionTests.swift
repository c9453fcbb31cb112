import EventflowLog
import Testing

@Suite struct StreamPartitionTests {
    let partition = StreamPartition(index: 2, count: 4)

    @Test func ownsEveryCountthOffsetFromItsIndex() {
        #expect((0..<12).filter(partition.contains) == [2, 6, 10])
        #expect(partition.first(atOrAfter: 0) == 2)
        #expect(partition.first(atOrAfter: 2) == 2)
        #expect(partition.first(atOrAfter: 3) == 6)
        #expect(partition.first(atOrAfter: 7) == 10)
        #expect(StreamPartition(index: 0, count: 1).first(atOrAfter: 17) == 17)
    }

    @Test func countsItsEventsInARange() {
        #expect(partition.events(from: 0, to: 0) == 0)
        #expect(partition.events(from: 0, to: 2) == 0)
        #expect(partition.events(from: 0, to: 3) == 1)
        #expect(partition.events(from: 3, to: 11) == 2)
        #expect(partition.events(from: 7, to: 6) == 0)
        for from in Int64(0)..<20 {
            for to in Int64(0)..<20 {
                #expect(partition.events(from: from, to: to) == Int64((from..<max(from, to)).filter(partition.contains).count))
            }
        }
    }

    @Test func namesAndParsesPartitionedCursors() {
        #expect(partition.processorName("deliver") == "deliver[2/4]")
        #expect(StreamPartition.parse(processorName: "deliver[2/4]") == ("deliver", partition))
        #expect(StreamPartition.parse(processorName: "deliver") == ("deliver", nil))
        #expect(StreamPartition.parse(processorName: "deliver[4/4]") == ("deliver[4/4]", nil))
        #expect(StreamPartition.parse(processorName: "deliver[x/4]") == ("deliver[x/4]", nil))
        #expect(StreamPartition.all(3).map(\.index) == [0, 1, 2])
    }

    @Test func backlogOfAPartitionedCursorCountsOnlyItsEvents() {
        #expect(StreamPartition.backlog(processorName: "deliver", cursor: 3, head: 10) == (7, 3))
        #expect(StreamPartition.backlog(processorName: "deliver[2/4]", cursor: 3, head: 10) == (1, 6))
        #expect(StreamPartition.backlog(processorName: "deliver[2/4]", cursor: 7, head: 10) == (0, 10))
    }
}
