import NIOCore

/// Consecutive events of one stream stored as one row of the log: what is read per event
/// (id, key, event time, body length) in a small `headers` value, the bodies one after
/// another in a `bodies` value.
///
/// One row per batch rather than per event is what makes appends and reads cheap: a commit
/// inserts a row per stream, and a reader that keeps up with the head reads one row per
/// commit. Reads that need no bodies read only the headers, which come first in the row.
///
/// Header of each event, in order (integers big-endian):
/// - `UInt8` flags: 1 id present, 2 key present, 4 event time present;
/// - the id and the key, when present, each as a `UInt32` byte count and UTF-8 bytes;
/// - the event time, when present, as `Int64` unix milliseconds;
/// - the body's byte count as `UInt32`.
enum RecordBatch {
    /// Events per row at most: a reader never fetches more than this of events it may not
    /// need, and a row past a read's end lies within this many offsets of it.
    static let maxEvents = 1024
    /// Body bytes per row at most (a single larger event gets a row of its own).
    static let maxBodyBytes = 1 << 20

    private static let hasID: UInt8 = 1
    private static let hasKey: UInt8 = 2
    private static let hasEventTime: UInt8 = 4

    /// The event of a batch without its body: where the body lies in the batch's `bodies`.
    struct Header: Equatable {
        var id: String?
        var key: String?
        var eventTimeMs: Int64?
        /// Where the body starts in `bodies`.
        var bodyStart: Int
        var bodyLength: Int
    }

    /// Cuts `records` into the ranges stored as one row each: consecutive records up to
    /// ``maxEvents`` and ``maxBodyBytes``, at least one record per row.
    static func rows(_ records: some Collection<LogRecord>) -> [Range<Int>] {
        var rows: [Range<Int>] = []
        var start = 0
        var count = 0
        var bytes = 0
        for record in records {
            let size = record.body.readableBytes
            if count > 0, count == maxEvents || size > maxBodyBytes - bytes {
                rows.append(start..<start + count)
                start += count
                count = 0
                bytes = 0
            }
            count += 1
            bytes += size
        }
        if count > 0 { rows.append(start..<start + count) }
        return rows
    }

    /// The headers and bodies of one row holding `records`.
    static func encode(_ records: some Collection<LogRecord>) -> (headers: ByteBuffer, bodies: ByteBuffer) {
        var headerBytes = 0
        var bodyBytes = 0
        for record in records {
            headerBytes += 5 + (record.id.map { 4 + $0.utf8.count } ?? 0) + (record.key.map { 4 + $0.utf8.count } ?? 0) + (record.eventTimeMs == nil ? 0 : 8)
            bodyBytes += record.body.readableBytes
        }
        var headers = ByteBuffer()
        headers.reserveCapacity(headerBytes)
        var bodies = ByteBuffer()
        bodies.reserveCapacity(bodyBytes)
        for record in records {
            var flags: UInt8 = 0
            if record.id != nil { flags |= hasID }
            if record.key != nil { flags |= hasKey }
            if record.eventTimeMs != nil { flags |= hasEventTime }
            headers.writeInteger(flags)
            // A ByteBuffer holds at most UInt32.max bytes, and ids and keys come out of a body,
            // so every length here fits a UInt32.
            if let id = record.id { headers.writeLengthPrefixedString(id) }
            if let key = record.key { headers.writeLengthPrefixedString(key) }
            if let time = record.eventTimeMs { headers.writeInteger(time) }
            headers.writeInteger(UInt32(record.body.readableBytes))
            var body = record.body
            bodies.writeBuffer(&body)
        }
        return (headers, bodies)
    }

    /// The headers of a row of `count` events, checked against the row: nil when they do
    /// not hold exactly `count` well-formed headers.
    static func decodeHeaders(_ buffer: ByteBuffer, count: Int) -> [Header]? {
        guard count > 0, count <= maxEvents else { return nil }
        var buffer = buffer
        var headers: [Header] = []
        headers.reserveCapacity(count)
        var bodyStart = 0
        for _ in 0..<count {
            guard let flags = buffer.readInteger(as: UInt8.self), flags & ~(hasID | hasKey | hasEventTime) == 0 else { return nil }
            var header = Header(bodyStart: bodyStart, bodyLength: 0)
            if flags & hasID != 0 {
                guard let id = buffer.readLengthPrefixedString() else { return nil }
                header.id = id
            }
            if flags & hasKey != 0 {
                guard let key = buffer.readLengthPrefixedString() else { return nil }
                header.key = key
            }
            if flags & hasEventTime != 0 {
                guard let time = buffer.readInteger(as: Int64.self) else { return nil }
                header.eventTimeMs = time
            }
            guard let length = buffer.readInteger(as: UInt32.self) else { return nil }
            header.bodyLength = Int(length)
            bodyStart += header.bodyLength
            headers.append(header)
        }
        guard buffer.readableBytes == 0 else { return nil }
        return headers
    }
}

extension ByteBuffer {
    fileprivate mutating func writeLengthPrefixedString(_ string: String) {
        writeInteger(UInt32(string.utf8.count))
        writeString(string)
    }

    fileprivate mutating func readLengthPrefixedString() -> String? {
        guard let length = getInteger(at: readerIndex, as: UInt32.self), Int(length) <= readableBytes - 4 else { return nil }
        moveReaderIndex(forwardBy: 4)
        return readString(length: Int(length))
    }
}
