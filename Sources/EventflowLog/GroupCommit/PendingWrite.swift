/// Identifies a processor's cursor on one stream.
struct CursorKey: Hashable, Sendable {
    var processor: String
    var stream: String
}

/// A write waiting for the next group commit, with the caller to resume after it.
enum PendingWrite: Sendable {
    case append(stream: String, records: [LogRecord], CheckedContinuation<Result<AppendResult, EventLogError>, Never>)
    case cursor(CursorKey, offset: Int64, CheckedContinuation<Result<Void, EventLogError>, Never>)
    case deadLetters([DeadLetter], CheckedContinuation<Result<Void, EventLogError>, Never>)
    case replay(DeadLetterSelection, CheckedContinuation<Result<Int, EventLogError>, Never>)
    /// A processor's state change (with or without a cursor move), or its schema.
    case state(StateCommit, CheckedContinuation<Result<Void, EventLogError>, Never>)
    /// Retention's deletion of a stream's oldest batches below an offset.
    case deleteEvents(stream: String, below: Int64, CheckedContinuation<Result<Int, EventLogError>, Never>)

    var eventCount: Int {
        if case .append(_, let records, _) = self { return records.count }
        return 0
    }

    /// What the write asks of the commit, without its caller.
    var request: WriteRequest {
        switch self {
        case .append(let stream, let records, _): .append(stream: stream, records: records)
        case .cursor(let key, let offset, _): .cursor(key, offset: offset)
        case .deadLetters(let letters, _): .deadLetters(letters)
        case .replay(let selection, _): .replay(selection)
        case .state(let change, _): .state(change)
        case .deleteEvents(let stream, let below, _): .deleteEvents(stream: stream, below: below)
        }
    }
}

/// What one write asks of a group commit.
enum WriteRequest: Sendable {
    case append(stream: String, records: [LogRecord])
    case cursor(CursorKey, offset: Int64)
    case deadLetters([DeadLetter])
    case replay(DeadLetterSelection)
    /// A processor's state change (with or without a cursor move), or its schema.
    case state(StateCommit)
    case deleteEvents(stream: String, below: Int64)
}

/// What one group commit produced for its writes, by their index in the batch.
struct BatchOutcome {
    /// Where each append landed.
    var appended: [Int: AppendResult] = [:]
    /// How many dead letters each replay re-queued.
    var replayed: [Int: Int] = [:]
    /// How many events each deletion deleted.
    var deleted: [Int: Int] = [:]
    /// Writes that failed on their own (a processor step rolled back to its savepoint, a
    /// lost lease) while the rest of the batch committed.
    var failures: [Int: EventLogError] = [:]
}

extension Array where Element == PendingWrite {
    /// Resumes every caller of the batch: with `failure` when the transaction failed,
    /// otherwise with its own result or failure from `outcome`.
    func resume(failure: EventLogError?, outcome: BatchOutcome) {
        for (index, write) in enumerated() {
            let failed = failure ?? outcome.failures[index]
            switch write {
            case .append(_, _, let continuation):
                continuation.resume(returning: failed.map { .failure($0) } ?? .success(outcome.appended[index]!))
            case .cursor(_, _, let continuation), .deadLetters(_, let continuation), .state(_, let continuation):
                continuation.resume(returning: failed.map { .failure($0) } ?? .success(()))
            case .replay(_, let continuation):
                continuation.resume(returning: failed.map { .failure($0) } ?? .success(outcome.replayed[index] ?? 0))
            case .deleteEvents(_, _, let continuation):
                continuation.resume(returning: failed.map { .failure($0) } ?? .success(outcome.deleted[index] ?? 0))
            }
        }
    }
}
