import EventflowCore

/// Fuzz target: request bodies through the ingest parser (JSON scanner, validators) and
/// the enricher delivery applies to what was accepted. `make fuzz` runs it under libFuzzer
/// (`Fuzz/Entry`); `FuzzRegressionTests` replays its seed corpus and every crash found.
///
/// The first byte of an input picks the stream schema and the body format; the rest is the
/// body. A crash, or a broken invariant (a `precondition` here), is a finding.
public enum IngestParserFuzzTarget {
    /// The streams a body is checked against, with one extra stream of every field type.
    static let schemas: [StreamSchema] =
        StreamSchema.defaults + [
            StreamSchema(
                name: "every_type",
                fields: [
                    FieldRule("s", .string(maxBytes: 16), required: false), FieldRule("i", .integer(-5...5), required: false),
                    FieldRule("u", .unixTime, required: false), FieldRule("t", .timestamp, required: false),
                    FieldRule("e", .oneOf(["a", "b"]), required: false), FieldRule("d", .domainName, required: false),
                    FieldRule("x", .any, required: false),
                ],
                keyField: "s", timeField: "u")
        ]
    static let enricher = JSONEnricher(strings: ["brand": "testBrand", "id": "replaced"])
    static let latestEventTimeMs: Int64 = 1_800_000_000_000

    public static func run(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let selector = Int(first)
        let schema = schemas[selector % schemas.count]
        let format: IngestFormat = selector & 0x80 == 0 ? .json : .ndjson
        let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        guard let events = try? IngestParser(schema: schema).parse(body, format: format, latestEventTimeMs: latestEventTimeMs) else { return }
        precondition(!events.isEmpty, "an accepted request holds at least one event")
        for event in events {
            precondition(event.range.lowerBound >= 0 && event.range.upperBound <= body.count && !event.range.isEmpty, "event outside the body")
            for text in [event.id, event.key].compactMap({ $0 }) {
                precondition(!text.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "an id or key with a control character was accepted")
            }
            if let time = event.eventTimeMs { precondition(time >= 0 && time <= latestEventTimeMs, "event time out of range") }
            var enriched: [UInt8] = []
            enricher.enrich(UnsafeRawBufferPointer(rebasing: body[event.range]), into: &enriched)
            enriched.withUnsafeBytes { bytes in
                var scanner = JSONScanner(bytes)
                var members: [JSONMember] = []
                precondition((try? scanner.scanObject(into: &members)) != nil && scanner.isAtEnd(), "enriching made invalid JSON")
            }
        }
    }
}
