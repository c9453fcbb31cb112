/// What the collector needs of the log: appending, durably.
///
/// `append` returns only after the events are committed durably; offsets in a stream are
/// dense and increase in commit order.
public protocol EventAppender: Sendable {
    /// Appends `records` to `stream` atomically; returns once they are durable.
    func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult
}

/// The durable, append-only log of streams that the collector writes and processors read:
/// appends, reads, the heads of its streams and whether it takes writes.
///
/// What processors keep beside it (cursors and state), the events they gave up on and how
/// processes sharing one log divide the work are jobs of their own:
/// ``ProcessorStateStore``, ``DeadLetterStore`` and ``ProcessCoordination``; an
/// ``EventStorage`` holds one of each.
public protocol EventLog: EventAppender {
    /// The streams this log holds.
    var streams: [String] { get }
    /// Reads up to `limit` events of `stream` from `offset` on, in offset order, only those
    /// of `partition` when one is given; without `bodies`, events come with empty bodies
    /// (processors that need only the key and event time extracted at ingest skip reading
    /// and copying the JSON). With bodies, the read stops before the event that would take
    /// its bodies past `maxBytes`, but returns the first event whatever its size, so that
    /// memory is bounded in bytes as well as events and a large event still makes progress.
    /// A read may stop short of the head (a reader's snapshot can lag the published head);
    /// what it returns is always the next events, without gaps.
    func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int, bodies: Bool, partition: StreamPartition?) async throws -> [StoredEvent]
    /// The offset the next appended event of `stream` will get.
    func headOffset(stream: String) -> Int64
    /// Returns once `stream` holds the event at `offset`: at once when its head is past it
    /// already, otherwise when a commit (on a shared log, also another process's) moves the
    /// head past it, or when the task is cancelled. A reader with nothing left to read waits
    /// here rather than polling.
    func waitForEvent(in stream: String, at offset: Int64) async
    /// Whether the log takes writes.
    var health: LogHealth { get }
}

extension EventLog {
    /// Reads up to `limit` events of `stream`, bodies included, from `offset` on.
    public func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int = .max) async throws -> [StoredEvent] {
        try await read(stream: stream, from: offset, limit: limit, maxBytes: maxBytes, bodies: true, partition: nil)
    }

    /// Reads up to `limit` events of `stream` from `offset` on, with or without bodies.
    public func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int = .max, bodies: Bool) async throws -> [StoredEvent] {
        try await read(stream: stream, from: offset, limit: limit, maxBytes: maxBytes, bodies: bodies, partition: nil)
    }
}
