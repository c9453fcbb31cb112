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


/// The events processors gave up on, kept durably until they are replayed.
public protocol DeadLetterStore: Sendable {
    /// Durably records events a processor gave up on.
    func recordDeadLetters(_ letters: [DeadLetter]) async throws
    /// The dead letters of `stream` from offset `from` on, oldest first: at most `limit`, and
    /// ending before the one that would take their bodies past `maxBytes` (but at least one).
    func deadLetters(stream: String, from: Int64, limit: Int, maxBytes: Int) async throws -> [DeadLetter]
    /// Appends the dead letters `selection` chooses to their stream again and removes them
    /// from the dead letters, in one transaction; returns how many were re-queued (0 when
    /// none is left). `replayAllDeadLetters` calls it until none is left.
    func replayDeadLetters(_ selection: DeadLetterSelection) async throws -> Int
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

extension DeadLetterStore {
    /// Replays the dead letters of `stream` (all, or those with the given ids) stored below
    /// `head` (the stream's head when the replay began) in transactions of at most `chunk`
    /// letters and `maxBytes` of bodies, each with the group commit of its moment; returns
    /// how many were re-queued.
    public func replayAllDeadLetters(stream: String, ids: [String]?, below head: Int64, chunk: Int = 500, maxBytes: Int = 16 << 20) async throws -> Int {
        // Ids go in groups that each fit one statement's parameters.
        let idGroups: [[String]?] = ids.map { ids in stride(from: 0, to: ids.count, by: chunk).map { Array(ids[$0..<min($0 + chunk, ids.count)]) } } ?? [nil]
        var replayed = 0
        for group in idGroups {
            while true {
                let moved = try await replayDeadLetters(
                    DeadLetterSelection(stream: stream, ids: group, belowOffset: head, limit: chunk, maxBytes: maxBytes))
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
}
