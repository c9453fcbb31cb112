import AcceptanceKit
import Testing

@Suite struct CPUCostTests {
    @Test func costsTheCPUOverTheRunPerEventAndInCores() throws {
        let cost = try #require(CPUCost(samples: [(0, 10), (1_000, 10.5), (2_000, 11.5)]))
        #expect(cost == CPUCost(cpuSeconds: 1.5, wallSeconds: 2))
        #expect(cost.cores == 0.75)
        #expect(cost.microsecondsPerEvent(100_000) == 15)
        #expect(cost.microsecondsPerEvent(0) == nil)
    }

    /// A process killed and restarted during the run starts its counter again: its CPU
    /// since the restart is added, not subtracted.
    @Test func countsAcrossARestart() {
        #expect(CPUCost(samples: [(0, 40), (1_000, 41), (2_000, 0.25), (3_000, 1.25)]) == CPUCost(cpuSeconds: 2.25, wallSeconds: 3))
    }

    @Test func needsTwoScrapes() {
        #expect(CPUCost(samples: [(0, 1)]) == nil)
        #expect(CPUCost(samples: []) == nil)
    }
}
