public import NIOCore

/// One event to append: its raw JSON and the fields extracted once at ingest.
public struct LogRecord: Sendable, Equatable {
    /// The idempotency key (`id` field), if any.
    public var id: String?
    /// The value of the stream's key field (user, account, domain, service).
    public var key: String?
    /// The event's own time, unix milliseconds, when it has a numeric one.
    public var eventTimeMs: Int64?
    /// The event's JSON object, exactly as received.
    public var body: ByteBuffer

    public init(id: String? = nil, key: String? = nil, eventTimeMs: Int64? = nil, body: ByteBuffer) {
        self.id = id
        self.key = key
        self.eventTimeMs = eventTimeMs
        self.body = body
    }
}

/// An event as stored in the log.
public struct StoredEvent: Sendable, Equatable {
    public var stream: String
    /// Position in its stream: 0, 1, 2, … without gaps.
    public var offset: Int64
    /// When the transaction that holds it committed, unix milliseconds.
    public var acceptedAtMs: Int64
    public var id: String?
    public var key: String?
    public var eventTimeMs: Int64?
    public var body: ByteBuffer

    public init(stream: String, offset: Int64, acceptedAtMs: Int64, id: String?, key: String?, eventTimeMs: Int64?, body: ByteBuffer) {
        self.stream = stream
        self.offset = offset
        self.acceptedAtMs = acceptedAtMs
        self.id = id
        self.key = key
        self.eventTimeMs = eventTimeMs
        self.body = body
    }
}

/// An event a processor gave up on: the target rejected it permanently.
public struct DeadLetter: Sendable, Equatable {
    public var stream: String
    /// The event's offset when it was dead-lettered.
    public var offset: Int64
    public var id: String?
    /// The status the target answered.
    public var status: Int
    /// The start of the target's answer.
    public var response: String
    public var failedAtMs: Int64
    /// The event as stored, to append it again on replay.
    public var event: StoredEvent

    public init(event: StoredEvent, status: Int, response: String, failedAtMs: Int64) {
        self.stream = event.stream
        self.offset = event.offset
        self.id = event.id
        self.status = status
        self.response = response
        self.failedAtMs = failedAtMs
        self.event = event
    }

    /// The event as it is appended again on replay.
    public var record: LogRecord {
        LogRecord(id: event.id, key: event.key, eventTimeMs: event.eventTimeMs, body: event.body)
    }
}

/// Where an append landed.
public struct AppendResult: Sendable, Equatable {
    public var firstOffset: Int64
    public var count: Int

    public init(firstOffset: Int64, count: Int) {
        self.firstOffset = firstOffset
        self.count = count
    }

    public var lastOffset: Int64 { firstOffset + Int64(count) - 1 }
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

/// Whether the log takes writes now.
public struct LogHealth: Sendable, Equatable {
    /// False after a failed commit, until a commit succeeds again.
    public var writable: Bool
    /// Pending work relative to the pending limit, 0 to 1.
    public var saturation: Double
    /// The last storage error, when not writable.
    public var lastError: String?

    public var isReady: Bool { writable && saturation < 1 }
}

/// Why the log refused or failed a request. Every case means nothing was stored.
public enum EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Too much is waiting for a commit; try again after the given time.
    case overloaded(retryAfterSeconds: Int)
    /// The storage failed (disk full, read-only, I/O error).
    case storageFailed(String)
    /// The log is closing and takes no more writes.
    case shuttingDown
    case unknownStream(String)
    /// Another process took over this processor's lease; its work since then is its own.
    case leaseLost(processor: String, stream: String)

    public var description: String {
        switch self {
        case .overloaded(let seconds): "the log is saturated; retry after \(seconds) s"
        case .storageFailed(let reason): "storage failed: \(reason)"
        case .shuttingDown: "the log is shutting down"
        case .unknownStream(let name): "unknown stream '\(name)'"
        case .leaseLost(let processor, let stream): "processor \(processor) lost its lease on stream \(stream) to another process"
        }
    }
}

/// Timing of one group commit, for metrics.
public struct CommitStats: Sendable {
    public var durationSeconds: Double
    public var requests: Int
    public var events: Int
    public var succeeded: Bool
}

/// The durable, append-only log of streams that the collector writes and processors read.
///
/// `append` returns only after the events are committed durably; offsets in a stream
/// are dense and increase in commit order. Each processor has a durable cursor per
/// stream: the offset of the next event it has yet to process.
public protocol EventLog: Sendable {
    /// The streams this log holds.
    var streams: [String] { get }
    /// Appends `records` to `stream` atomically; returns once they are durable.
    func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult
    /// Reads up to `limit` events of `stream` from `offset` on, in offset order, only those
    /// of `partition` when one is given; without `bodies`, events come with empty bodies
    /// (processors that need only the key and event time extracted at ingest skip reading
    /// and copying the JSON). With bodies, the read stops before the event that would take
    /// its bodies past `maxBytes`, but returns the first event whatever its size, so that
    /// memory is bounded in bytes as well as events and a large event still makes progress.
    /// A read may stop short of the head (a reader's snapshot can lag the published head);
    /// what it returns is always the next events, without gaps.
    func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int, bodies: Bool, partition: StreamPartition?) async throws -> [StoredEvent]
    /// The next offset `processor` has to process in `stream` (0 when it never committed).
    func cursor(processor: String, stream: String) async throws -> Int64
    /// Durably records that `processor` has processed everything before `offset`.
    func commitCursor(processor: String, stream: String, to offset: Int64) async throws
    /// The offset the next appended event of `stream` will get.
    func headOffset(stream: String) -> Int64
    /// Backlog of every processor that has a cursor.
    func backlog() async throws -> [BacklogEntry]
    /// Durably records events a processor gave up on.
    func recordDeadLetters(_ letters: [DeadLetter]) async throws
    /// The dead letters of `stream` from offset `from` on, oldest first: at most `limit`, and
    /// ending before the one that would take their bodies past `maxBytes` (but at least one).
    func deadLetters(stream: String, from: Int64, limit: Int, maxBytes: Int) async throws -> [DeadLetter]
    /// Appends the dead letters `selection` chooses to their stream again and removes them
    /// from the dead letters, in one transaction; returns how many were re-queued (0 when
    /// none is left). `replayAllDeadLetters` calls it until none is left.
    func replayDeadLetters(_ selection: DeadLetterSelection) async throws -> Int
    /// Whether the log takes writes.
    var health: LogHealth { get }
    /// Creates a processor's tables and indexes (idempotent `CREATE … IF NOT EXISTS` statements).
    func prepareState(_ schema: [String]) async throws
    /// Commits a processor's state changes and its cursor in one transaction; nothing of it
    /// is applied when it throws.
    func commitState(_ commit: StateCommit) async throws
    /// Reads a processor's committed state.
    func queryState(_ statement: StateStatement) async throws -> [StateRow]
    /// Claims the work of `processor` on `stream` for this process; true when this process
    /// holds it. Of several processes sharing one log, one at a time holds a lease; the log
    /// renews it while the process lives, and cursor and state commits of a processor whose
    /// lease another process took fail with ``EventLogError/leaseLost(processor:stream:)``.
    func acquireLease(processor: String, stream: String) async throws -> Bool
    /// Whether this process still holds the lease, as of its last renewal.
    func holdsLease(processor: String, stream: String) -> Bool
    /// Gives the lease up at once (on a graceful stop) so another process takes over without
    /// waiting for it to expire.
    func releaseLease(processor: String, stream: String) async
    /// Registers this process as one of those running `group` (e.g. a partitioned
    /// processor), or renews its registration, which lapses after a lease's duration
    /// without renewal; returns how many processes are registered now, itself included.
    /// Processes use it to take a fair share of the group's leases.
    func joinGroup(_ group: String) async throws -> Int
    /// Ends this process's registration in `group` at once (on a graceful stop).
    func leaveGroup(_ group: String) async
    /// Records whether `member` of `group` (a partition's cursor name) holds its later
    /// events back behind one stuck past the ordering window, so that the group's other
    /// members hold theirs too.
    func setHold(group: String, member: String, holding: Bool) async throws
    /// The members of `group` holding now; on a shared log, only those whose lease is live
    /// (a process that died holding does not hold the others back for ever).
    func holdingMembers(group: String) async throws -> Set<String>
    /// Records that `group` cuts its stream into `partitions`, unless a layout is recorded
    /// already, and returns the recorded one: processes starting at once on an empty shared
    /// log with different layouts agree on the first, and the others can refuse to run.
    func settleLayout(group: String, partitions: Int) async throws -> Int
}

/// Which dead letters one replay transaction moves back to their stream: the oldest of
/// `stream` (those with `ids` when given) stored below `belowOffset`, at most `limit` of
/// them and no more than `maxBytes` of bodies (but at least one), so that a replay of
/// thousands of large letters never holds them all, nor the writer, at once.
public struct DeadLetterSelection: Sendable, Equatable {
    public var stream: String
    /// Only letters of these event ids; nil: every letter.
    public var ids: [String]?
    /// Only letters of events stored below this offset: those dead-lettered before the
    /// replay began, so that an event rejected again is not replayed in the same call.
    public var belowOffset: Int64
    public var limit: Int
    public var maxBytes: Int

    public init(stream: String, ids: [String]?, belowOffset: Int64, limit: Int, maxBytes: Int) {
        self.stream = stream
        self.ids = ids
        self.belowOffset = belowOffset
        self.limit = limit
        self.maxBytes = maxBytes
    }
}

extension EventLog {
    /// Replays the dead letters of `stream` (all, or those with the given ids) in
    /// transactions of at most `chunk` letters and `maxBytes` of bodies, each with the group
    /// commit of its moment; returns how many were re-queued.
    public func replayAllDeadLetters(stream: String, ids: [String]?, chunk: Int = 500, maxBytes: Int = 16 << 20) async throws -> Int {
        let below = headOffset(stream: stream)
        // Ids go in groups that each fit one statement's parameters.
        let idGroups: [[String]?] = ids.map { ids in stride(from: 0, to: ids.count, by: chunk).map { Array(ids[$0..<min($0 + chunk, ids.count)]) } } ?? [nil]
        var replayed = 0
        for group in idGroups {
            while true {
                let moved = try await replayDeadLetters(
                    DeadLetterSelection(stream: stream, ids: group, belowOffset: below, limit: chunk, maxBytes: maxBytes))
                replayed += moved
                if moved == 0 { break }
            }
        }
        return replayed
    }

    /// The oldest `limit` dead letters of `stream`, however large.
    public func deadLetters(stream: String, limit: Int) async throws -> [DeadLetter] {
        try await deadLetters(stream: stream, from: 0, limit: limit, maxBytes: .max)
    }

    /// Reads up to `limit` events of `stream`, bodies included, from `offset` on.
    public func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int = .max) async throws -> [StoredEvent] {
        try await read(stream: stream, from: offset, limit: limit, maxBytes: maxBytes, bodies: true, partition: nil)
    }

    /// Reads up to `limit` events of `stream` from `offset` on, with or without bodies.
    public func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int = .max, bodies: Bool) async throws -> [StoredEvent] {
        try await read(stream: stream, from: offset, limit: limit, maxBytes: maxBytes, bodies: bodies, partition: nil)
    }
}
