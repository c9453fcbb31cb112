import AcceptanceKit
import EventflowTesting
import Testing

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
