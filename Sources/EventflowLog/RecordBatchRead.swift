import NIOCore

/// The rule of one read over record batches, shared by both storages: the storage hands it
/// the rows of the stream in offset order until it is complete, then the bodies of the rows
/// it picked events from; it returns exactly what ``EventLog/read(stream:from:limit:maxBytes:bodies:partition:)``
/// promises (the next events from the offset, of the partition, within the limit and the
/// bytes, the first event whatever its size).
struct RecordBatchRead {
    /// A row the read takes events from.
    struct Pick {
        /// The row's last offset, which identifies it.
        var lastOffset: Int64
        var firstOffset: Int64
        var acceptedAtMs: Int64
        var headers: [RecordBatch.Header]
        /// The events taken, as indices into `headers`.
        var taken: [Int]
        /// The byte count of the row's bodies its headers describe.
        var bodyBytes: Int
    }

    let stream: String
    let from: Int64
    /// The first offset the read may not return (the published head, or a partition's reach).
    let end: Int64
    let limit: Int
    /// Body bytes at most; only reads with bodies are bounded in bytes.
    let maxBytes: Int
    let bodies: Bool
    let partition: StreamPartition?

    private(set) var picks: [Pick] = []
    private(set) var events = 0
    private(set) var bytes = 0
    /// Rows added so far.
    private var rows = 0
    /// Whether more rows could add nothing: the limit or the bytes are used up, or a row reached the end.
    private(set) var isComplete = false

    init(stream: String, from: Int64, end: Int64, limit: Int, maxBytes: Int, bodies: Bool, partition: StreamPartition?) {
        self.stream = stream
        self.from = from
        self.end = end
        self.limit = limit
        self.maxBytes = maxBytes
        self.bodies = bodies
        self.partition = partition
        self.isComplete = from >= end || limit <= 0
    }

    /// Takes what the read wants of the row of offsets `firstOffset...lastOffset`. The first
    /// row must hold the read's offset: when it starts after it, the events before it were
    /// deleted by retention.
    mutating func add(lastOffset: Int64, firstOffset: Int64, acceptedAtMs: Int64, headers encoded: ByteBuffer) throws(EventLogError) {
        guard !isComplete else { return }
        if rows == 0, firstOffset > from { throw .deleted(stream: stream, firstRetained: firstOffset) }
        rows += 1
        guard firstOffset < end else {
            isComplete = true
            return
        }
        // A row's offsets come from disk: checked before any arithmetic on them can trap.
        guard firstOffset >= 0, firstOffset <= lastOffset, lastOffset - firstOffset < Int64(RecordBatch.maxEvents),
            let headers = RecordBatch.decodeHeaders(encoded, count: Int(lastOffset - firstOffset) + 1)
        else {
            throw .storageFailed("the log's row of offsets \(firstOffset)...\(lastOffset) of stream \(stream) is damaged")
        }
        var taken: [Int] = []
        for (index, header) in headers.enumerated() {
            let offset = firstOffset + Int64(index)
            guard offset >= from, partition?.contains(offset) ?? true else { continue }
            if offset >= end || events == limit || (bodies && events > 0 && header.bodyLength > maxBytes - bytes) {
                isComplete = true
                break
            }
            taken.append(index)
            events += 1
            if bodies { bytes += header.bodyLength }
        }
        if !taken.isEmpty {
            let bodyBytes = headers.last.map { $0.bodyStart + $0.bodyLength } ?? 0
            picks.append(Pick(lastOffset: lastOffset, firstOffset: firstOffset, acceptedAtMs: acceptedAtMs, headers: headers, taken: taken, bodyBytes: bodyBytes))
        }
        if events == limit { isComplete = true }
    }

    /// The events read, their bodies copied out of `bodies` (each picked row's bodies by its
    /// last offset; ignored without bodies), so that an event held long keeps only its own bytes.
    /// Rows missing from `bodies` at the start were deleted by retention after their headers
    /// were read (it deletes the oldest first): the read fails as one before the stream's start.
    func result(bodies rowBodies: [Int64: ByteBuffer] = [:]) throws(EventLogError) -> [StoredEvent] {
        if bodies, let first = picks.first, rowBodies[first.lastOffset] == nil {
            let kept = picks.first { rowBodies[$0.lastOffset] != nil }
            throw .deleted(stream: stream, firstRetained: kept?.firstOffset ?? picks[picks.count - 1].lastOffset + 1)
        }
        var result: [StoredEvent] = []
        result.reserveCapacity(events)
        for pick in picks {
            var row: ByteBuffer?
            if bodies {
                guard let found = rowBodies[pick.lastOffset], found.readableBytes == pick.bodyBytes else {
                    throw .storageFailed("the bodies of the log's row of offsets \(pick.firstOffset)...\(pick.lastOffset) of stream \(stream) are damaged")
                }
                row = found
            }
            for index in pick.taken {
                let header = pick.headers[index]
                let body = row.flatMap { $0.getSlice(at: $0.readerIndex + header.bodyStart, length: header.bodyLength) }.map { ByteBuffer(buffer: $0) }
                result.append(
                    StoredEvent(
                        stream: stream, offset: pick.firstOffset + Int64(index), acceptedAtMs: pick.acceptedAtMs,
                        id: header.id, key: header.key, eventTimeMs: header.eventTimeMs, body: body ?? ByteBuffer()))
            }
        }
        return result
    }
}
