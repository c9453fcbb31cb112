/// Where processors keep their progress: a durable cursor per processor and stream (the
/// offset of the next event it has yet to process) and their own state tables, committed
/// together so that after a crash the state always matches the cursor.
public protocol ProcessorStateStore: Sendable {
    /// The next offset `processor` has to process in `stream` (0 when it never committed).
    func cursor(processor: String, stream: String) async throws -> Int64
    /// Durably records that `processor` has processed everything before `offset`.
    func commitCursor(processor: String, stream: String, to offset: Int64) async throws
    /// Backlog of every processor that has a cursor.
    func backlog() async throws -> [BacklogEntry]
    /// Creates a processor's tables and indexes (idempotent `CREATE … IF NOT EXISTS` statements).
    func prepareState(_ schema: [String]) async throws
    /// Commits a processor's state changes and its cursor in one transaction; nothing of it
    /// is applied when it throws.
    func commitState(_ commit: StateCommit) async throws
    /// Reads a processor's committed state.
    func queryState(_ statement: StateStatement) async throws -> [StateRow]
}

/// How far a processor is behind on a stream.
public struct BacklogEntry: Sendable, Equatable {
    public var stream: String
    public var processor: String
    /// Events committed to the stream and not yet processed.
    public var events: Int64
    /// Age of the oldest unprocessed event, 0 when there is none.
    public var oldestUnprocessedAgeSeconds: Double
}
