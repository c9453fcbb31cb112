/// What one group commit writes, planned from its batch before the transaction begins:
/// the records to append per stream, and every other write in the order its row locks are
/// taken. Both storages execute the same plan in one transaction, and the same plan turns
/// what they committed into each caller's result.
struct BatchPlan: Sendable {
    /// A write of the batch other than an append, with its index in the batch.
    enum Write: Sendable {
        /// Takes dead letters out and appends their events again (after the batch's appends).
        case replay(index: Int, DeadLetterSelection)
        case deadLetters(index: Int, [DeadLetter])
        /// Moves a processor's cursor (on a shared log, only while it holds the lease).
        case cursor(index: Int, CursorKey, offset: Int64)
        /// A processor's state change with its cursor, applied on its own: its failure is its own.
        case state(index: Int, StateCommit)
        /// Deletes a stream's oldest batches below an offset (``LogRetention/deleteEvents(stream:below:)``).
        case deleteEvents(index: Int, stream: String, below: Int64)

        var index: Int {
            switch self {
            case .replay(let index, _), .deadLetters(let index, _), .cursor(let index, _, _), .state(let index, _), .deleteEvents(let index, _, _): index
            }
        }

        /// The cursor row whose lock the write takes, if any.
        var cursorKey: CursorKey? {
            switch self {
            case .cursor(_, let key, _): key
            case .state(_, let change): CursorKey(processor: change.processor, stream: change.stream)
            case .replay, .deadLetters, .deleteEvents: nil
            }
        }
    }

    /// Where one append's records sit among its stream's records in this batch.
    struct Placement: Sendable, Equatable {
        var index: Int
        var stream: String
        /// Records of the same stream before it in the batch.
        var start: Int
        var count: Int
    }

    /// The records the batch appends to each stream, in batch order.
    private(set) var records: [String: [LogRecord]] = [:]
    private(set) var placements: [Placement] = []
    /// Every write but the appends, in lock order: dead letters, replays and deletions first
    /// (in batch order), then cursor and state commits by processor and stream in byte order (in batch
    /// order within one), so commits of several processes never wait on each other in a cycle.
    private(set) var writes: [Write] = []
    /// When the transaction that holds the batch commits, unix milliseconds.
    let acceptedAtMs: Int64

    /// Plans the batch whose writes ask `requests`, in batch order.
    init(_ requests: [WriteRequest], acceptedAtMs: Int64) {
        self.acceptedAtMs = acceptedAtMs
        for (index, request) in requests.enumerated() {
            switch request {
            case .append(let stream, let new):
                placements.append(Placement(index: index, stream: stream, start: records[stream, default: []].count, count: new.count))
                records[stream, default: []] += new
            case .cursor(let key, let offset): writes.append(.cursor(index: index, key, offset: offset))
            case .deadLetters(let letters): writes.append(.deadLetters(index: index, letters))
            case .replay(let selection): writes.append(.replay(index: index, selection))
            case .state(let change): writes.append(.state(index: index, change))
            case .deleteEvents(let stream, let below): writes.append(.deleteEvents(index: index, stream: stream, below: below))
            }
        }
        writes.sort { first, second in
            switch (first.cursorKey, second.cursorKey) {
            case (nil, nil): first.index < second.index
            case (nil, _): true
            case (_, nil): false
            case (let a?, let b?): (a.processor, a.stream, first.index) < (b.processor, b.stream, second.index)
            }
        }
    }

    /// Events the batch's appends hold (replayed letters come on top).
    var events: Int { records.values.reduce(0) { $0 + $1.count } }

    /// Each caller's result, from what the storage committed.
    func outcome(of committed: CommittedBatch) -> BatchOutcome {
        var outcome = BatchOutcome(replayed: committed.replayed, deleted: committed.deleted, failures: committed.failures)
        for placement in placements {
            guard let first = committed.firstOffsets[placement.stream] else { continue }
            outcome.appended[placement.index] = AppendResult(firstOffset: first + Int64(placement.start), count: placement.count)
        }
        return outcome
    }

    /// The cursors the committed plan moved: its cursor writes and the state commits that
    /// did not fail on their own, the last of each cursor winning.
    func cursorsMoved(_ committed: CommittedBatch) -> [CursorKey: Int64] {
        var moved: [CursorKey: Int64] = [:]
        for write in writes where committed.failures[write.index] == nil {
            switch write {
            case .cursor(_, let key, let offset): moved[key] = offset
            case .state(_, let change): if let cursor = change.cursor { moved[CursorKey(processor: change.processor, stream: change.stream)] = cursor }
            case .replay, .deadLetters, .deleteEvents: break
            }
        }
        return moved
    }

    /// The cursor rows the committed plan touched (a state commit without a cursor move
    /// still extends its lease), for the leases they extend.
    func cursorRowsTouched(_ committed: CommittedBatch) -> [CursorKey] {
        writes.compactMap { write in committed.failures[write.index] == nil ? write.cursorKey : nil }
    }
}

/// What a storage committed for a ``BatchPlan``.
struct CommittedBatch: Sendable, Equatable {
    /// The offset of each stream's first appended record (its replayed letters follow the batch's records).
    var firstOffsets: [String: Int64] = [:]
    /// How many dead letters each replay re-queued, by batch index.
    var replayed: [Int: Int] = [:]
    /// How many events each deletion deleted, by batch index.
    var deleted: [Int: Int] = [:]
    /// Writes that failed on their own (a processor step rolled back to its savepoint, a
    /// lost lease) while the rest of the batch committed, by batch index.
    var failures: [Int: EventLogError] = [:]
}
