import EventflowCore
import EventflowLog
import EventflowTesting
import Foundation
import Logging
import NIOCore
import Testing

/// What several processes sharing one PostgreSQL log rely on: several logs opened on one
/// database in this process stand for them.
@Suite struct PostgresSharingTests {
    @Test func processesStartingAtOnceMigrateTheSchemaOnce() async throws {
        let location = try await LogBackend.postgres.fresh()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { try await withLog(location) { storage, _ in _ = try await storage.log.append(stream: "events", records: records(["x"])) } }
            }
            try await group.waitForAll()
        }
        try await withLog(location) { storage, _ in
            let migrations = try await storage.state.queryState(StateStatement("SELECT version FROM eventflow_migrations"))
            #expect(migrations == [1, 2, 3, 4].map { StateRow(values: [.integer($0)]) })
            let offsets = try await storage.log.read(stream: "events", from: 0, limit: 10).map(\.offset)
            #expect(offsets == [0, 1, 2, 3])
        }
    }

    /// A process waiting for the next event is woken by another process's commit (the
    /// heads it learns through LISTEN/NOTIFY), not only by its own.
    @Test(.timeLimit(.minutes(1))) func aWaitForTheNextEventEndsWithAnotherProcesssCommit() async throws {
        let location = try await LogBackend.postgres.fresh()
        try await withLog(location) { waiting, _ in
            try await withLog(location) { appending, _ in
                let log = waiting.log
                let waiter = Task { await log.waitForEvent(in: "events", at: 0) }
                _ = try await appending.log.append(stream: "events", records: records(["a"]))
                await waiter.value
                #expect(waiting.log.headOffset(stream: "events") == 1)
            }
        }
    }

    /// Two collectors appending at once: offsets stay dense, each request's events stay
    /// together, and every acknowledged event is stored where its 202 said.
    @Test func twoCollectorsShareDenseOffsets() async throws {
        let location = try await LogBackend.postgres.fresh()
        try await withLog(location) { first, _ in
            try await withLog(location) { second, _ in
                let results = try await withThrowingTaskGroup(of: (String, AppendResult).self) { group in
                    for request in 0..<300 {
                        let storage = request.isMultiple(of: 2) ? first : second
                        group.addTask {
                            let ids = (0..<3).map { "r\(request)-\($0)" }
                            return ("r\(request)", try await storage.log.append(stream: "events", records: records(ids)))
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.flatMap { $0.1.firstOffset...$0.1.lastOffset }.sorted() == Array(0..<900))
                let stored = try await first.log.read(stream: "events", from: 0, limit: 1_000)
                for (request, result) in results {
                    #expect(stored[Int(result.firstOffset)...Int(result.lastOffset)].map(\.id) == (0..<3).map { "\(request)-\($0)" })
                }
            }
        }
    }

    @Test func oneProcessAtATimeHoldsALeaseAndOnlyItsHolderCommits() async throws {
        let location = try await LogBackend.postgres.fresh()
        try await withLog(location) { first, _ in
            try await withLog(location) { second, _ in
                _ = try await first.log.append(stream: "events", records: records(["a", "b", "c"]))
                #expect(try await first.coordination.acquireLease(processor: "deliver", stream: "events"))
                #expect(try await !second.coordination.acquireLease(processor: "deliver", stream: "events"))
                #expect(!second.coordination.holdsLease(processor: "deliver", stream: "events"))
                await #expect(throws: EventLogError.leaseLost(processor: "deliver", stream: "events")) {
                    try await second.state.commitCursor(processor: "deliver", stream: "events", to: 1)
                }
                try await first.state.commitCursor(processor: "deliver", stream: "events", to: 2)

                await first.coordination.releaseLease(processor: "deliver", stream: "events")
                #expect(try await second.coordination.acquireLease(processor: "deliver", stream: "events"))
                #expect(try await second.state.cursor(processor: "deliver", stream: "events") == 2)
                await #expect(throws: EventLogError.leaseLost(processor: "deliver", stream: "events")) {
                    try await first.state.commitState(StateCommit(processor: "deliver", stream: "events", cursor: 3, statements: []))
                }
                try await second.state.commitCursor(processor: "deliver", stream: "events", to: 3)
                #expect(try await first.state.cursor(processor: "deliver", stream: "events") == 3)
            }
        }
    }

    /// Processes of a group count each other while they renew their membership; one that
    /// leaves stops counting at once, one that stops renewing once its registration lapses.
    @Test func groupMembersCountUntilTheyLeaveOrLapse() async throws {
        let location = try await LogBackend.postgres.fresh()
        let clock = ContinuousClock()
        // Long enough that the registrations made here outlive the slowest queries of a busy machine.
        let lease = Duration.seconds(10)
        try await withLog(location, leaseDuration: lease) { first, _ in
            var counts = [try await first.coordination.joinGroup("deliver")]
            var lastRenewal = clock.now
            try await withLog(location, leaseDuration: lease) { second, _ in
                _ = try await first.coordination.joinGroup("deliver")
                counts.append(try await second.coordination.joinGroup("deliver"))
                counts.append(try await second.coordination.joinGroup("other"))
                counts.append(try await first.coordination.joinGroup("deliver"))
                await second.coordination.leaveGroup("deliver")
                counts.append(try await first.coordination.joinGroup("deliver"))
                counts.append(try await second.coordination.joinGroup("deliver"))
                lastRenewal = clock.now
            }
            #expect(counts == [1, 2, 1, 2, 1, 2])
            // The second stopped renewing without leaving: it counts until its registration
            // lapses, a lease after its last renewal (measured from then, not from its close,
            // which can take seconds on a busy machine).
            var members = try await first.coordination.joinGroup("deliver")
            while members == 2, clock.now - lastRenewal < lease * 4 {
                try await Task.sleep(for: .milliseconds(100))
                members = try await first.coordination.joinGroup("deliver")
            }
            #expect(members == 1)
            #expect(clock.now - lastRenewal >= lease * 0.9)
        }
    }

    /// Processes starting at once with different layouts all learn the one recorded first.
    @Test func processesStartingAtOnceAgreeOnTheFirstLayoutRecorded() async throws {
        let location = try await LogBackend.postgres.fresh()
        let settled = try await withThrowingTaskGroup(of: (asked: Int, recorded: Int).self) { group in
            for partitions in [2, 4, 8] {
                group.addTask {
                    var recorded = 0
                    try await withLog(location) { storage, _ in recorded = try await storage.coordination.settleLayout(group: "deliver", partitions: partitions) }
                    return (partitions, recorded)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let recorded = Set(settled.map(\.recorded))
        #expect(recorded.count == 1, "\(settled)")
        // The layout recorded is one that was asked for, and its process learns it was first.
        #expect(settled.contains { $0.asked == $0.recorded })
        var later: [Int] = []
        try await withLog(location) { storage, _ in
            later = [try await storage.coordination.settleLayout(group: "deliver", partitions: 16), try await storage.coordination.settleLayout(group: "other", partitions: 16)]
        }
        #expect(later == [try #require(recorded.first), 16])
    }

    /// A process that died while holding does not hold the others back once its lease expired.
    @Test func theHoldOfAMemberWhoseLeaseExpiredDoesNotCount() async throws {
        let location = try await LogBackend.postgres.fresh()
        // Long enough that the holder's renewals keep it alive on a busy machine.
        let lease = Duration.seconds(3)
        try await withLog(location, leaseDuration: lease) { first, _ in
            #expect(try await first.coordination.acquireLease(processor: "deliver[1/2]", stream: "events"))
            try await first.coordination.setHold(group: "deliver", member: "deliver[1/2]", holding: true)
            let holding = try await first.coordination.holdingMembers(group: "deliver")
            #expect(holding == ["deliver[1/2]"])
        }
        try await withLog(location, leaseDuration: lease) { second, _ in
            let clock = ContinuousClock()
            let started = clock.now
            var holding = try await second.coordination.holdingMembers(group: "deliver")
            while !holding.isEmpty, clock.now - started < lease * 3 {
                try await Task.sleep(for: .milliseconds(100))
                holding = try await second.coordination.holdingMembers(group: "deliver")
            }
            #expect(holding.isEmpty)
        }
    }

    /// A holder that stops renewing (its process died) loses the lease once it expires,
    /// and the process that takes over starts from the last committed cursor.
    @Test func anotherProcessTakesAnExpiredLeaseOver() async throws {
        let location = try await LogBackend.postgres.fresh()
        let clock = ContinuousClock()
        let acquiredAt = clock.now
        try await withLog(location, leaseDuration: .seconds(1)) { first, _ in
            _ = try await first.log.append(stream: "events", records: records(["a", "b"]))
            #expect(try await first.coordination.acquireLease(processor: "deliver", stream: "events"))
            try await first.state.commitCursor(processor: "deliver", stream: "events", to: 1)
        }
        try await withLog(location, leaseDuration: .seconds(1)) { second, _ in
            let started = clock.now
            var acquired = false
            while !acquired, clock.now - started < .seconds(5) {
                acquired = try await second.coordination.acquireLease(processor: "deliver", stream: "events")
                if !acquired { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(acquired)
            // Not before the lease, renewed while the first log ran, expired.
            #expect(clock.now - acquiredAt >= .milliseconds(900))
            #expect(try await second.state.cursor(processor: "deliver", stream: "events") == 1)
        }
    }

    @Test func aCollectorSeesTheHeadsOfOthers() async throws {
        let location = try await LogBackend.postgres.fresh()
        try await withLog(location) { first, _ in
            try await withLog(location) { second, _ in
                _ = try await first.log.append(stream: "frames", records: records(["a", "b"]))
                let clock = ContinuousClock()
                let started = clock.now
                while second.log.headOffset(stream: "frames") < 2, clock.now - started < .seconds(5) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(second.log.headOffset(stream: "frames") == 2)
                #expect(try await second.log.read(stream: "frames", from: 0, limit: 10).map(\.id) == ["a", "b"])
            }
        }
    }
}
