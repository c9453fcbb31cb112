@testable import EventflowLog
import EventflowTesting
import NIOCore
import Testing

/// The row layout both storages keep events in, and the rule a read applies to its rows.
@Suite struct RecordBatchTests {
    private let mixed = [
        LogRecord(id: "a", key: "user-1", eventTimeMs: -5, body: ByteBuffer(string: #"{"id":"a"}"#)),
        LogRecord(id: nil, key: nil, eventTimeMs: nil, body: ByteBuffer(string: "{}")),
        LogRecord(id: "é😀", key: "", eventTimeMs: .max, body: ByteBuffer()),
    ]

    @Test func headersAndBodiesRoundTripEveryField() throws {
        let (headers, bodies) = RecordBatch.encode(mixed)
        let decoded = try #require(RecordBatch.decodeHeaders(headers, count: 3))
        #expect(decoded.map(\.id) == ["a", nil, "é😀"])
        #expect(decoded.map(\.key) == ["user-1", nil, ""])
        #expect(decoded.map(\.eventTimeMs) == [-5, nil, .max])
        #expect(decoded.map(\.bodyStart) == [0, 10, 12])
        #expect(decoded.map(\.bodyLength) == [10, 2, 0])
        #expect(String(buffer: bodies) == #"{"id":"a"}{}"#)
    }

    /// Headers that do not describe exactly the row's events are refused, not trusted: a
    /// count that differs, bytes left over, a truncated length, unknown flags.
    @Test func damagedHeadersAreRefused() {
        let (headers, _) = RecordBatch.encode(mixed)
        #expect(RecordBatch.decodeHeaders(headers, count: 2) == nil)
        #expect(RecordBatch.decodeHeaders(headers, count: 4) == nil)
        #expect(RecordBatch.decodeHeaders(headers, count: 0) == nil)
        #expect(RecordBatch.decodeHeaders(headers.getSlice(at: 0, length: headers.readableBytes - 1)!, count: 3) == nil)
        var unknownFlag = headers
        unknownFlag.setInteger(UInt8(8), at: 0)
        #expect(RecordBatch.decodeHeaders(unknownFlag, count: 3) == nil)
        var longID = headers
        longID.setInteger(UInt32.max, at: 1)
        #expect(RecordBatch.decodeHeaders(longID, count: 3) == nil)
    }

    /// A row holds at most `maxEvents` events and `maxBodyBytes` of bodies, but always one
    /// event, however large.
    @Test func rowsAreCutByEventsAndBytes() {
        let small = LogRecord(body: ByteBuffer(string: "{}"))
        #expect(RecordBatch.rows(Array(repeating: small, count: 2_500)) == [0..<1_024, 1_024..<2_048, 2_048..<2_500])
        let half = LogRecord(body: ByteBuffer(repeating: 0x20, count: RecordBatch.maxBodyBytes / 2))
        let huge = LogRecord(body: ByteBuffer(repeating: 0x20, count: RecordBatch.maxBodyBytes * 2))
        #expect(RecordBatch.rows([half, half, small, huge, small]) == [0..<2, 2..<3, 3..<4, 4..<5])
        #expect(RecordBatch.rows([LogRecord]()).isEmpty)
    }

    /// Rows of offsets 0…3 and 4…9, events of 10 body bytes each.
    private func read(from: Int64, end: Int64 = 10, limit: Int = 100, maxBytes: Int = .max, bodies: Bool = true, partition: StreamPartition? = nil) throws
        -> [Int64]
    {
        var read = RecordBatchRead(stream: "events", from: from, end: end, limit: limit, maxBytes: maxBytes, bodies: bodies, partition: partition)
        var stored: [Int64: ByteBuffer] = [:]
        for (first, last) in [(Int64(0), Int64(3)), (4, 9)] where !read.isComplete {
            let rowRecords = (first...last).map { LogRecord(id: "e\($0)", body: ByteBuffer(string: String(format: "{\"n\":%04d}", $0))) }
            let (headers, rowBodies) = RecordBatch.encode(rowRecords)
            try read.add(lastOffset: last, firstOffset: first, acceptedAtMs: 7, headers: headers)
            stored[last] = rowBodies
        }
        let events = try read.result(bodies: bodies ? stored : [:])
        for event in events {
            #expect(event.id == "e\(event.offset)")
            #expect(String(buffer: event.body) == (bodies ? String(format: "{\"n\":%04d}", event.offset) : ""))
            #expect(event.acceptedAtMs == 7)
        }
        return events.map(\.offset)
    }

    @Test func aReadTakesTheNextEventsWithinItsLimitBytesEndAndPartition() throws {
        #expect(try read(from: 2) == Array(2...9))
        #expect(try read(from: 2, limit: 3) == [2, 3, 4])
        #expect(try read(from: 2, end: 6) == [2, 3, 4, 5])
        #expect(try read(from: 1, maxBytes: 35) == [1, 2, 3])
        #expect(try read(from: 1, maxBytes: 3) == [1])
        #expect(try read(from: 1, maxBytes: 3, bodies: false) == Array(1...9))
        #expect(try read(from: 0, partition: StreamPartition(index: 1, count: 3)) == [1, 4, 7])
        #expect(try read(from: 5, partition: StreamPartition(index: 1, count: 3)) == [7])
        #expect(try read(from: 10).isEmpty)
        #expect(try read(from: 3, limit: 0).isEmpty)
    }

    /// A row whose bodies are missing or do not match its headers fails the read with
    /// where it is, rather than returning wrong bytes.
    @Test func damagedBodiesFailTheRead() throws {
        let (headers, bodies) = RecordBatch.encode(records(["a", "b"]))
        var read = RecordBatchRead(stream: "events", from: 0, end: 2, limit: 10, maxBytes: .max, bodies: true, partition: nil)
        try read.add(lastOffset: 1, firstOffset: 0, acceptedAtMs: 0, headers: headers)
        #expect(throws: EventLogError.self) { try read.result(bodies: [:]) }
        #expect(throws: EventLogError.self) { try read.result(bodies: [1: bodies.getSlice(at: 0, length: 3)!]) }
        #expect(try read.result(bodies: [1: bodies]).map(\.id) == ["a", "b"])
        // Rows gone at the start were deleted by retention between the headers and the bodies.
        let (laterHeaders, laterBodies) = RecordBatch.encode(records(["c"]))
        var twoRows = RecordBatchRead(stream: "events", from: 0, end: 3, limit: 10, maxBytes: .max, bodies: true, partition: nil)
        try twoRows.add(lastOffset: 1, firstOffset: 0, acceptedAtMs: 0, headers: headers)
        try twoRows.add(lastOffset: 2, firstOffset: 2, acceptedAtMs: 0, headers: laterHeaders)
        #expect(throws: EventLogError.deleted(stream: "events", firstRetained: 2)) { try twoRows.result(bodies: [2: laterBodies]) }
        #expect(throws: EventLogError.deleted(stream: "events", firstRetained: 3)) { try twoRows.result(bodies: [:]) }
        #expect(throws: EventLogError.self) { try twoRows.result(bodies: [1: bodies]) }
        // Offsets from a damaged file fail the read instead of trapping on their arithmetic.
        var damagedOffsets = RecordBatchRead(stream: "events", from: 0, end: .max, limit: 10, maxBytes: .max, bodies: false, partition: nil)
        #expect(throws: EventLogError.self) { try damagedOffsets.add(lastOffset: 1, firstOffset: .min, acceptedAtMs: 0, headers: headers) }
        var wrongCount = RecordBatchRead(stream: "events", from: 0, end: 10, limit: 10, maxBytes: .max, bodies: false, partition: nil)
        #expect(throws: EventLogError.self) { try wrongCount.add(lastOffset: 2, firstOffset: 0, acceptedAtMs: 0, headers: headers) }
    }
}
