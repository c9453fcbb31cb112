/// How a request body holds its events.
public enum IngestFormat: Sendable, Equatable {
    /// One JSON object, or a JSON array of objects.
    case json
    /// One JSON object per line.
    case ndjson
}

/// An event that passed its stream's schema, located in the request body.
public struct ValidatedEvent: Sendable, Equatable {
    /// The bytes of the event's JSON object within the body.
    public var range: Range<Int>
    /// The optional `id` field: the idempotency key.
    public var id: String?
    /// The value of the schema's key field.
    public var key: String?
    /// The schema's time field as unix milliseconds, when it is a number.
    public var eventTimeMs: Int64?
}

/// Why a request's events were rejected; nothing of the request is stored.
public struct IngestError: Error, Sendable, Equatable {
    public var message: String
    /// Index of the offending event within the request, when one event is at fault.
    public var index: Int?
    /// The offending field, when one field is at fault.
    public var field: String?

    public init(_ message: String, index: Int? = nil, field: String? = nil) {
        self.message = message
        self.index = index
        self.field = field
    }
}

/// Splits a request body into events and validates each against its stream's schema,
/// all or nothing.
public struct IngestParser: Sendable {
    public let schema: StreamSchema

    public init(schema: StreamSchema) {
        self.schema = schema
    }

    /// Parses and validates `body`; throws the first problem found.
    ///
    /// - Parameter latestEventTimeMs: the latest event time accepted, unix milliseconds (the
    ///   server's clock plus `--max-future-skew`), so that one event from the far future
    ///   cannot move a window's watermark past every event still to come.
    public func parse(_ body: UnsafeRawBufferPointer, format: IngestFormat, latestEventTimeMs: Int64 = .max) throws(IngestError) -> [ValidatedEvent] {
        var validator = EventValidator(schema: schema, latestEventTimeMs: latestEventTimeMs)
        var events: [ValidatedEvent] = []
        switch format {
        case .json:
            var scanner = JSONScanner(body)
            guard let first = scanner.peekByte() else { throw IngestError("empty body: send a JSON object, an array of objects, or NDJSON") }
            if first == UInt8(ascii: "[") {
                _ = scanner.consume(UInt8(ascii: "["))
                if scanner.consume(UInt8(ascii: "]")) { throw IngestError("empty batch: the array holds no events") }
                repeat {
                    events.append(try validator.validate(body, scanner: &scanner, index: events.count))
                } while scanner.consume(UInt8(ascii: ","))
                guard scanner.consume(UInt8(ascii: "]")) else {
                    throw IngestError("malformed JSON at byte \(scanner.position): expected ',' or ']' after event", index: events.count - 1)
                }
            } else {
                events.append(try validator.validate(body, scanner: &scanner, index: 0))
            }
            guard scanner.isAtEnd() else {
                throw IngestError("malformed JSON at byte \(scanner.position): unexpected data after the end of the JSON value")
            }
        case .ndjson:
            var lineStart = 0
            while lineStart < body.count {
                var lineEnd = lineStart
                while lineEnd < body.count, body[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let line = UnsafeRawBufferPointer(rebasing: body[lineStart..<lineEnd])
                var scanner = JSONScanner(line)
                if !scanner.isAtEnd() {
                    var event = try validator.validate(line, scanner: &scanner, index: events.count, baseOffset: lineStart)
                    guard scanner.isAtEnd() else {
                        throw IngestError(
                            "malformed NDJSON at byte \(lineStart + scanner.position): unexpected data after the event on its line",
                            index: events.count)
                    }
                    event.range = (event.range.lowerBound + lineStart)..<(event.range.upperBound + lineStart)
                    events.append(event)
                }
                lineStart = lineEnd + 1
            }
            guard !events.isEmpty else { throw IngestError("empty body: NDJSON holds no events") }
        }
        return events
    }
}
