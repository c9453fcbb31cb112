import EventflowCore
import EventflowLog
import EventflowTesting
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// The contract every `EventLog` keeps, run against the embedded SQLite log on real files
/// and against PostgreSQL (`make test` starts a throwaway server for it).
@Suite struct LogContractTests {
    @Test(arguments: LogBackend.allCases) func appendsGetDenseOffsetsPerStreamAndReadBackInOrder(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            let first = try await storage.log.append(stream: "events", records: records(["a", "b", "c"]))
            let other = try await storage.log.append(stream: "frames", records: records(["x"]))
            let second = try await storage.log.append(stream: "events", records: records(["d"]))
            #expect(first == AppendResult(firstOffset: 0, count: 3))
            #expect(other == AppendResult(firstOffset: 0, count: 1))
            #expect(second == AppendResult(firstOffset: 3, count: 1))
            let events = try await storage.log.read(stream: "events", from: 0, limit: 10)
            #expect(events.map(\.offset) == [0, 1, 2, 3])
            #expect(events.map(\.id) == ["a", "b", "c", "d"])
            #expect(events.map { String(buffer: $0.body) } == ["{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"c\"}", "{\"id\":\"d\"}"])
            #expect(events[0].key == "key-a")
            #expect(events[0].eventTimeMs == 1_000)
            #expect(try await storage.log.read(stream: "events", from: 2, limit: 1).map(\.id) == ["c"])
            #expect(storage.log.headOffset(stream: "events") == 4)
        }
    }

    @Test(arguments: LogBackend.allCases) func concurrentAppendsShareCommits(backend: LogBackend) async throws {
        let commits = Mutex(0)
        try await withLog(backend.fresh(), onCommit: { _ in commits.withLock { $0 += 1 } }) { storage, _ in
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for request in 0..<200 {
                    group.addTask { try await storage.log.append(stream: "events", records: records(["r\(request)-0", "r\(request)-1"])) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let offsets = results.flatMap { $0.firstOffset...$0.lastOffset }.sorted()
            #expect(offsets == Array(0..<400))
            #expect(commits.withLock { $0 } < 200)
            let stored = try await storage.log.read(stream: "events", from: 0, limit: 1_000)
            for result in results {
                let ids = stored[Int(result.firstOffset)...Int(result.lastOffset)].compactMap(\.id)
                #expect(ids.count == 2 && ids[0].hasSuffix("-0") && ids[1].hasSuffix("-1") && ids[0].dropLast(2) == ids[1].dropLast(2))
            }
        }
    }

    @Test(arguments: LogBackend.allCases) func cursorsAndEventsSurviveReopening(backend: LogBackend) async throws {
        let location = try await backend.fresh()
        try await withLog(location) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: records(["a", "b", "c"]))
            #expect(try await storage.state.cursor(processor: "deliver", stream: "events") == 0)
            #expect(try await storage.coordination.acquireLease(processor: "deliver", stream: "events"))
            try await storage.state.commitCursor(processor: "deliver", stream: "events", to: 2)
        }
        try await withLog(location) { storage, _ in
            #expect(storage.log.headOffset(stream: "events") == 3)
            #expect(try await storage.state.cursor(processor: "deliver", stream: "events") == 2)
            let next = try await storage.log.append(stream: "events", records: records(["d"]))
            #expect(next.firstOffset == 3)
        }
    }

    @Test(arguments: LogBackend.allCases) func backlogCountsUnprocessedEventsPerProcessor(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: records(["a", "b", "c", "d"]))
            #expect(try await storage.coordination.acquireLease(processor: "deliver", stream: "events"))
            #expect(try await storage.coordination.acquireLease(processor: "audit", stream: "events"))
            try await storage.state.commitCursor(processor: "deliver", stream: "events", to: 1)
            try await storage.state.commitCursor(processor: "audit", stream: "events", to: 4)
            let backlog = try await storage.state.backlog()
            #expect(backlog.map(\.processor) == ["audit", "deliver"])
            #expect(backlog.map(\.events) == [0, 3])
            #expect(backlog[0].oldestUnprocessedAgeSeconds == 0)
            #expect(backlog[1].oldestUnprocessedAgeSeconds >= 0)
        }
    }

    /// A partitioned processor reads only its partition's events, and its backlog counts only them.
    @Test(arguments: LogBackend.allCases) func readsOnePartitionAndCountsOnlyItsBacklog(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: records((0..<10).map { "e\($0)" }))
            let partition = StreamPartition(index: 1, count: 3)
            let read = try await storage.log.read(stream: "events", from: 2, limit: 10, maxBytes: .max, bodies: true, partition: partition)
            #expect(read.map(\.offset) == [4, 7])
            #expect(read.map(\.id) == ["e4", "e7"])
            #expect(try await storage.log.read(stream: "events", from: 0, limit: 2, maxBytes: .max, bodies: false, partition: partition).map(\.offset) == [1, 4])
            let name = partition.processorName("deliver")
            #expect(try await storage.coordination.acquireLease(processor: name, stream: "events"))
            try await storage.state.commitCursor(processor: name, stream: "events", to: 5)
            let backlog = try await storage.state.backlog()
            #expect(backlog.map(\.processor) == ["deliver[1/3]"])
            // Of offsets 5…9 only 7 is in partition 1 of 3.
            #expect(backlog.map(\.events) == [1])
            #expect(backlog[0].oldestUnprocessedAgeSeconds > 0)
            try await storage.state.commitCursor(processor: name, stream: "events", to: 8)
            #expect(try await storage.state.backlog().map(\.events) == [0])
        }
    }

    /// A read with bodies ends before the event that would take them past `maxBytes`, but
    /// always brings the first event, however large; without bodies the bytes do not count.
    @Test(arguments: LogBackend.allCases) func readsStopAtTheirBytesButAlwaysBringOneEvent(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            // Bodies of 11 bytes each: {"id":"e0"} … {"id":"e9"}.
            _ = try await storage.log.append(stream: "events", records: records((0..<10).map { "e\($0)" }))
            #expect(try await storage.log.read(stream: "events", from: 0, limit: 10, maxBytes: 35).map(\.offset) == [0, 1, 2])
            #expect(try await storage.log.read(stream: "events", from: 0, limit: 10, maxBytes: 33).map(\.offset) == [0, 1, 2])
            #expect(try await storage.log.read(stream: "events", from: 4, limit: 10, maxBytes: 5).map(\.offset) == [4])
            #expect(try await storage.log.read(stream: "events", from: 0, limit: 2, maxBytes: 1_000).map(\.offset) == [0, 1])
            #expect(try await storage.log.read(stream: "events", from: 0, limit: 10, maxBytes: 5, bodies: false).count == 10)
            let partition = StreamPartition(index: 1, count: 3)
            let partitionRead = try await storage.log.read(stream: "events", from: 0, limit: 10, maxBytes: 25, bodies: true, partition: partition)
            #expect(partitionRead.map(\.offset) == [1, 4])
            let large = LogRecord(id: "large", key: nil, eventTimeMs: nil, body: ByteBuffer(string: #"{"filler":"\#(String(repeating: "x", count: 100_000))"}"#))
            _ = try await storage.log.append(stream: "events", records: [large] + records(["after"]))
            let alone = try await storage.log.read(stream: "events", from: 10, limit: 10, maxBytes: 1_000)
            #expect(alone.map(\.id) == ["large"])
            #expect(alone.first?.body.readableBytes == 100_013)
        }
    }

    /// Retention deletes whole record batches below an offset, never the newest (the head
    /// survives a restart on it); a read before what is left says where the stream starts now.
    @Test(arguments: LogBackend.allCases) func deletionTakesWholeBatchesAndReadsBeforeItSaySo(backend: LogBackend) async throws {
        let location = try await backend.fresh()
        try await withLog(location) { storage, _ in
            // Three commits: batches of offsets 0…2, 3…4 and 5.
            _ = try await storage.log.append(stream: "events", records: records(["a", "b", "c"]))
            _ = try await storage.log.append(stream: "events", records: records(["d", "e"]))
            _ = try await storage.log.append(stream: "events", records: records(["f"]))
            #expect(try await storage.retention.oldestBatches(stream: "events", limit: 10).map(\.lastOffset) == [2, 4, 5])
            #expect(try await storage.retention.slowestCursor(stream: "events") == nil)
            #expect(try await storage.coordination.acquireLease(processor: "deliver", stream: "events"))
            #expect(try await storage.coordination.acquireLease(processor: "audit", stream: "events"))
            try await storage.state.commitCursor(processor: "deliver", stream: "events", to: 4)
            try await storage.state.commitCursor(processor: "audit", stream: "events", to: 6)
            #expect(try await storage.retention.slowestCursor(stream: "events") == 4)

            #expect(try await storage.retention.deleteEvents(stream: "events", below: 4) == 3)
            #expect(try await storage.retention.deleteEvents(stream: "events", below: 4) == 0)
            await #expect(throws: EventLogError.deleted(stream: "events", firstRetained: 3)) {
                try await storage.log.read(stream: "events", from: 1, limit: 10)
            }
            #expect(try await storage.log.read(stream: "events", from: 3, limit: 10).map(\.id) == ["d", "e", "f"])
            #expect(try await storage.log.read(stream: "events", from: 4, limit: 10).map(\.id) == ["e", "f"])
            #expect(try await storage.retention.deleteEvents(stream: "events", below: 100) == 2)
            #expect(try await storage.retention.deleteEvents(stream: "events", below: 100) == 0)
            #expect(try await storage.retention.oldestBatches(stream: "events", limit: 10).map(\.firstOffset) == [5])
        }
        try await withLog(location) { storage, _ in
            #expect(storage.log.headOffset(stream: "events") == 6)
            let next = try await storage.log.append(stream: "events", records: records(["g"]))
            #expect(next.firstOffset == 6)
            await #expect(throws: EventLogError.deleted(stream: "events", firstRetained: 5)) {
                try await storage.log.read(stream: "events", from: 0, limit: 10, maxBytes: .max, bodies: false, partition: StreamPartition(index: 0, count: 2))
            }
            #expect(try await storage.log.read(stream: "events", from: 5, limit: 10).map(\.id) == ["f", "g"])
        }
    }

    /// A replay moves at most a chunk of letters (in count and in bytes, at least one) per
    /// transaction, only those stored below the offset it names, and the chunks together
    /// move every letter once.
    @Test(arguments: LogBackend.allCases) func replaysDeadLettersInChunksBoundedInLettersAndBytes(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: records((0..<6).map { "d\($0)" }))
            let stored = try await storage.log.read(stream: "events", from: 0, limit: 10)
            try await storage.deadLetters.recordDeadLetters(stored.map { DeadLetter(event: $0, status: 422, response: "no", failedAtMs: 1) })
            func select(ids: [String]? = nil, below: Int64 = 6, limit: Int = 100, maxBytes: Int = 1 << 20) -> DeadLetterSelection {
                DeadLetterSelection(stream: "events", ids: ids, belowOffset: below, limit: limit, maxBytes: maxBytes)
            }
            // Bodies of 11 bytes: {"id":"d0"} … Listed a page at a time, in letters and in bytes:
            #expect(try await storage.deadLetters.deadLetters(stream: "events", from: 2, limit: 10, maxBytes: 25).map(\.offset) == [2, 3])
            #expect(try await storage.deadLetters.deadLetters(stream: "events", from: 5, limit: 10, maxBytes: 1).map(\.offset) == [5])
            #expect(try await storage.deadLetters.deadLetters(stream: "events", from: 0, limit: 3, maxBytes: 1 << 20).map(\.offset) == [0, 1, 2])
            #expect(try await storage.deadLetters.replayDeadLetters(select(limit: 2)) == 2)
            #expect(try await storage.deadLetters.replayDeadLetters(select(maxBytes: 25)) == 2)
            #expect(try await storage.deadLetters.replayDeadLetters(select(maxBytes: 1)) == 1)
            #expect(try await storage.deadLetters.deadLetters(stream: "events", limit: 10).map(\.id) == ["d5"])
            #expect(try await storage.deadLetters.replayDeadLetters(select(below: 5)) == 0)
            #expect(try await storage.deadLetters.replayDeadLetters(select(ids: ["d1"])) == 0)
            #expect(try await storage.deadLetters.replayDeadLetters(select(ids: ["d5"])) == 1)
            let replayed = try await storage.log.read(stream: "events", from: 6, limit: 10)
            #expect(replayed.map(\.id) == ["d0", "d1", "d2", "d3", "d4", "d5"])
            #expect(replayed.map(\.offset) == [6, 7, 8, 9, 10, 11])
            // Dead-lettered again, then all replayed in chunks of two: each once.
            try await storage.deadLetters.recordDeadLetters(replayed.map { DeadLetter(event: $0, status: 422, response: "no", failedAtMs: 2) })
            #expect(try await storage.deadLetters.replayAllDeadLetters(stream: "events", ids: nil, below: storage.log.headOffset(stream: "events"), chunk: 2, maxBytes: 1 << 20) == 6)
            #expect(try await storage.deadLetters.deadLetters(stream: "events", limit: 10).isEmpty)
            #expect(storage.log.headOffset(stream: "events") == 18)
        }
    }

    /// Ordering holds are recorded per member of a group; on a shared log only members whose lease is live count.
    @Test(arguments: LogBackend.allCases) func recordsOrderingHoldsOfLiveMembers(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            #expect(try await storage.coordination.holdingMembers(group: "deliver").isEmpty)
            #expect(try await storage.coordination.acquireLease(processor: "deliver[0/2]", stream: "events"))
            try await storage.coordination.setHold(group: "deliver", member: "deliver[0/2]", holding: true)
            try await storage.coordination.setHold(group: "deliver", member: "deliver[0/2]", holding: true)
            #expect(try await storage.coordination.holdingMembers(group: "deliver") == ["deliver[0/2]"])
            #expect(try await storage.coordination.holdingMembers(group: "other").isEmpty)
            try await storage.coordination.setHold(group: "deliver", member: "deliver[0/2]", holding: false)
            #expect(try await storage.coordination.holdingMembers(group: "deliver").isEmpty)
        }
    }

    @Test(arguments: LogBackend.allCases) func refusesWorkBeyondThePendingLimitAndStoresOnlyWhatItAcknowledged(backend: LogBackend) async throws {
        let limits = GroupCommitLimits(maxPendingEvents: 20, maxPendingBytes: 1 << 20, maxBatchEvents: 10, maxBatchBytes: 1 << 20)
        try await withLog(backend.fresh(), limits: limits) { storage, _ in
            let outcomes = await withTaskGroup(of: (String, Result<AppendResult, EventLogError>).self) { group in
                for request in 0..<300 {
                    group.addTask {
                        let id = "flood-\(request)"
                        do throws(EventLogError) { return (id, .success(try await storage.log.append(stream: "events", records: records([id])))) } catch { return (id, .failure(error)) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let acknowledged = outcomes.compactMap { id, result in (try? result.get()).map { (id, $0.firstOffset) } }
            let refused = outcomes.filter { if case .failure(.overloaded) = $0.1 { true } else { false } }
            #expect(!refused.isEmpty)
            #expect(acknowledged.count + refused.count == 300)
            let stored = try await storage.log.read(stream: "events", from: 0, limit: 1_000)
            #expect(stored.count == acknowledged.count)
            for (id, offset) in acknowledged { #expect(stored[Int(offset)].id == id) }
        }
    }

    /// SQLite only: PostgreSQL's disk is the database administrator's.
    @Test func aFullDiskFailsTheCommitAndMarksTheLogUnwritable() async throws {
        try await withLog(LogBackend.sqlite.fresh(), maxDatabaseBytes: 1 << 20) { storage, _ in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
            var acknowledged = 0
            var failure: EventLogError?
            while failure == nil, acknowledged < 100 {
                do throws(EventLogError) {
                    _ = try await storage.log.append(stream: "events", records: [LogRecord(id: "big", body: big)])
                    acknowledged += 1
                } catch {
                    failure = error
                }
            }
            guard case .storageFailed = failure else {
                Issue.record("expected a storage failure, got \(String(describing: failure))")
                return
            }
            #expect(!storage.log.health.writable)
            #expect(!storage.log.health.isReady)
            let stored = try await storage.log.read(stream: "events", from: 0, limit: 1_000)
            #expect(stored.count == acknowledged)
            #expect(storage.log.headOffset(stream: "events") == Int64(acknowledged))
        }
    }

    @Test(arguments: LogBackend.allCases) func unknownStreamsAreRefused(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            await #expect(throws: EventLogError.unknownStream("nope")) { try await storage.log.append(stream: "nope", records: records(["a"])) }
        }
    }

    @Test(arguments: LogBackend.allCases) func processorStateAndCursorCommitTogetherAndSurviveReopening(backend: LogBackend) async throws {
        let location = try await backend.fresh()
        try await withLog(location) { storage, _ in
            _ = try await storage.log.append(stream: "frames", records: records(["a", "b", "c"]))
            #expect(try await storage.coordination.acquireLease(processor: "counter", stream: "frames"))
            try await storage.state.prepareState(["CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n BIGINT NOT NULL)"])
            let upsert = "ON CONFLICT (name) DO UPDATE SET n = counts.n + excluded.n"
            try await storage.state.commitState(
                StateCommit(processor: "counter", stream: "frames", cursor: 2,
                    statements: StateStatement.insertRows("INSERT INTO counts (name, n)", rows: [[.text("x"), .integer(2)], [.text("y"), .integer(1)]], tail: upsert)))
            try await storage.state.commitState(
                StateCommit(processor: "counter", stream: "frames", cursor: 3,
                    statements: StateStatement.insertRows("INSERT INTO counts (name, n)", rows: [[.text("x"), .integer(5)]], tail: upsert)))
            #expect(try await storage.state.cursor(processor: "counter", stream: "frames") == 3)
        }
        try await withLog(location) { storage, _ in
            #expect(try await storage.state.cursor(processor: "counter", stream: "frames") == 3)
            let rows = try await storage.state.queryState(StateStatement("SELECT name, n FROM counts WHERE n > ? ORDER BY name", [.integer(0)]))
            #expect(rows == [StateRow(values: [.text("x"), .integer(7)]), StateRow(values: [.text("y"), .integer(1)])])
            #expect(try await storage.state.backlog().first { $0.processor == "counter" }?.events == 0)
        }
    }

    /// A failing processor statement undoes its own step (state and cursor) and nothing
    /// else: appends committed in the same group commit stay.
    @Test(arguments: LogBackend.allCases) func aFailingProcessorStepChangesNothingAndSparesConcurrentAppends(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            _ = try await storage.log.append(stream: "frames", records: records(["a", "b"]))
            #expect(try await storage.coordination.acquireLease(processor: "counter", stream: "frames"))
            try await storage.state.prepareState(["CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n BIGINT NOT NULL)"])
            async let append = storage.log.append(stream: "frames", records: records(["c"]))
            let step = Task {
                try await storage.state.commitState(
                StateCommit(processor: "counter", stream: "frames", cursor: 2, statements: [
                    StateStatement("INSERT INTO counts (name, n) VALUES ('x', 1)"),
                    StateStatement("INSERT INTO counts (name, n) VALUES ('x', 2)"),
                ]))
            }
            await #expect(throws: EventLogError.self) { try await step.value }
            #expect(try await append.firstOffset == 2)
            #expect(try await storage.state.cursor(processor: "counter", stream: "frames") == 0)
            #expect(try await storage.state.queryState(StateStatement("SELECT COUNT(*) FROM counts")) == [StateRow(values: [.integer(0)])])
            #expect(storage.log.health.writable)
            #expect(try await storage.log.read(stream: "frames", from: 0, limit: 10, bodies: false).map(\.body.readableBytes) == [0, 0, 0])
        }
    }

    /// A reader with nothing left to read waits for the next event and is woken by the
    /// commit that brings it (a wait never woken fails the test at its time limit).
    @Test(.timeLimit(.minutes(1)), arguments: LogBackend.allCases) func aWaitForTheNextEventEndsWithTheCommitThatBringsIt(backend: LogBackend) async throws {
        try await withLog(backend.fresh()) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: records(["a"]))
            await storage.log.waitForEvent(in: "events", at: 0)
            let log = storage.log
            let waiter = Task { await log.waitForEvent(in: "events", at: 1) }
            _ = try await storage.log.append(stream: "frames", records: records(["x"]))
            _ = try await storage.log.append(stream: "events", records: records(["b"]))
            await waiter.value
            #expect(storage.log.headOffset(stream: "events") == 2)
        }
    }

    @Test(arguments: LogBackend.allCases) func refusesWritesAfterShutdown(backend: LogBackend) async throws {
        var closedLog: (any EventLog)?
        try await withLog(backend.fresh()) { storage, _ in closedLog = storage.log }
        await #expect(throws: EventLogError.shuttingDown) { try await closedLog?.append(stream: "events", records: records(["late"])) }
    }
}
