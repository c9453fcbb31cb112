/// What retention needs of the log: its oldest rows, how far the slowest processor of a
/// stream has come, and deleting whole rows through the log's writer.
public protocol LogRetention: Sendable {
    /// The oldest record batches of `stream`, oldest first, `limit` at most.
    func oldestBatches(stream: String, limit: Int) async throws -> [RetainedBatch]
    /// The lowest cursor any processor (or delivery partition) keeps on `stream`; nil when
    /// none keeps one.
    func slowestCursor(stream: String) async throws -> Int64?
    /// Deletes the oldest record batches of `stream` that lie wholly below `offset`, at most
    /// ``RetentionRule/batchesPerDeletion`` in one transaction, never the newest one (it keeps
    /// the stream's head across restarts). Returns the events deleted; 0 when none are left
    /// to delete below `offset`.
    func deleteEvents(stream: String, below offset: Int64) async throws -> Int
}

/// One record batch of the log as retention sees it.
public struct RetainedBatch: Sendable, Equatable {
    public var firstOffset: Int64
    public var lastOffset: Int64
    /// When the batch was committed, unix milliseconds.
    public var acceptedAtMs: Int64

    public init(firstOffset: Int64, lastOffset: Int64, acceptedAtMs: Int64) {
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.acceptedAtMs = acceptedAtMs
    }
}
