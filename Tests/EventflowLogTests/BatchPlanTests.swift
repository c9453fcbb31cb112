@testable import EventflowLog
import EventflowTesting
import NIOCore
import Testing

/// The plan both storages execute: where each append lands, the order row locks are taken
/// in, and which cursors a commit moved.
@Suite struct BatchPlanTests {
    private func state(_ processor: String, _ stream: String, cursor: Int64?) -> WriteRequest {
        .state(StateCommit(processor: processor, stream: stream, cursor: cursor, statements: []))
    }

    private func letter(_ id: String) -> DeadLetter {
        DeadLetter(
            event: StoredEvent(stream: "events", offset: 0, acceptedAtMs: 0, id: id, key: nil, eventTimeMs: nil, body: ByteBuffer()),
            status: 422, response: "", failedAtMs: 0)
    }

    @Test func appendsOfOneStreamLandOneAfterTheOtherInBatchOrder() {
        let plan = BatchPlan(
            [.append(stream: "events", records: records(["a", "b"])), .append(stream: "frames", records: records(["x"])),
             .cursor(CursorKey(processor: "p", stream: "events"), offset: 1), .append(stream: "events", records: records(["c"]))],
            acceptedAtMs: 7)
        #expect(plan.records["events"]?.map(\.id) == ["a", "b", "c"])
        #expect(plan.events == 4)
        let outcome = plan.outcome(of: CommittedBatch(firstOffsets: ["events": 10, "frames": 3]))
        #expect(outcome.appended[0] == AppendResult(firstOffset: 10, count: 2))
        #expect(outcome.appended[1] == AppendResult(firstOffset: 3, count: 1))
        #expect(outcome.appended[3] == AppendResult(firstOffset: 12, count: 1))
        #expect(outcome.appended[2] == nil)
    }

    @Test func takesDeadLetterWritesFirstThenCursorRowsInByteOrder() {
        let plan = BatchPlan(
            [state("b", "events", cursor: 1), .cursor(CursorKey(processor: "a", stream: "frames"), offset: 2), .deadLetters([letter("d")]),
             state("a", "events", cursor: 3), .replay(DeadLetterSelection(stream: "events", ids: nil, belowOffset: 5, limit: 1, maxBytes: 1)),
             .cursor(CursorKey(processor: "B", stream: "events"), offset: 4), state("a", "events", cursor: 5)],
            acceptedAtMs: 0)
        // "B" sorts before "a" and "b" in byte order; one cursor's writes keep their batch order.
        #expect(plan.writes.map(\.index) == [2, 4, 5, 3, 6, 1, 0])
    }

    @Test func aWriteThatFailedOnItsOwnMovesNoCursorAndTheLastMoveOfACursorWins() {
        let plan = BatchPlan(
            [state("p", "events", cursor: 5), .cursor(CursorKey(processor: "q", stream: "events"), offset: 2), state("p", "events", cursor: 9),
             state("r", "events", cursor: nil), state("s", "events", cursor: 4)],
            acceptedAtMs: 0)
        let committed = CommittedBatch(failures: [4: .storageFailed("step failed")])
        #expect(
            plan.cursorsMoved(committed) == [
                CursorKey(processor: "p", stream: "events"): 9, CursorKey(processor: "q", stream: "events"): 2,
            ])
        // A state commit without a cursor move still touched (and extends the lease of) its cursor row.
        #expect(Set(plan.cursorRowsTouched(committed).map(\.processor)) == ["p", "q", "r"])
        #expect(plan.outcome(of: committed).failures == [4: .storageFailed("step failed")])
    }
}
