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
