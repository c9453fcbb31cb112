import EventflowCore
import Testing

@Suite struct IngestParserTests {
    func parse(_ text: String, _ schema: StreamSchema, format: IngestFormat = .json) throws -> [ValidatedEvent] {
        try parse(Array(text.utf8), schema, format: format)
    }

    func parse(_ bytes: [UInt8], _ schema: StreamSchema, format: IngestFormat = .json) throws -> [ValidatedEvent] {
        try bytes.withUnsafeBytes { buffer in try IngestParser(schema: schema).parse(buffer, format: format) }
    }

    func expectError(
        _ text: String, _ schema: StreamSchema, format: IngestFormat = .json, index: Int?, field: String?, message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try parse(text, schema, format: format)
            Issue.record("expected an error containing '\(message)'", sourceLocation: sourceLocation)
        } catch let error as IngestError {
            #expect(error.index == index, sourceLocation: sourceLocation)
            #expect(error.field == field, sourceLocation: sourceLocation)
            #expect(error.message.contains(message), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func acceptsOneObjectAnArrayAndNDJSON() throws {
        let one = #"{"id":"e1","name":"n","timestamp":1700000000}"#
        #expect(try parse(one, .events).count == 1)
        #expect(try parse("[\(one), \(one)]", .events).count == 2)
        #expect(try parse("\(one)\n\n\(one)\r\n\(one)", .events, format: .ndjson).count == 3)
    }

    @Test func locatesEachEventInTheBody() throws {
        let first = #"{"uid":"a","ts":1}"#
        let second = #"{"uid":"b","ts":2}"#
        let body = "\(first)\n\(second)\n"
        let events = try parse(body, .frames, format: .ndjson)
        let bytes = Array(body.utf8)
        #expect(String(decoding: bytes[events[1].range], as: UTF8.self) == second)
        let array = "[ \(first) ,\(second)]"
        let fromArray = try parse(array, .frames)
        #expect(String(decoding: Array(array.utf8)[fromArray[0].range], as: UTF8.self) == first)
    }

    @Test func extractsIdKeyAndEventTime() throws {
        let frame = try parse(#"{"uid":"0123456789abcdef012","ts":1468244384,"filler":{"uid":1,"ts":"no","ts":[]}}"#, .frames)[0]
        #expect(frame.key == "0123456789abcdef012")
        #expect(frame.eventTimeMs == 1_468_244_384_000)
        let milliseconds = try parse(#"{"uid":"u","ts":1468244384123}"#, .frames)[0]
        #expect(milliseconds.eventTimeMs == 1_468_244_384_123)
        let domain = try parse(#"{"domain":"Mail.Example.COM","type":"bounced","id":"x1"}"#, .domains)[0]
        #expect(domain.key == "mail.example.com")
        #expect(domain.id == "x1")
    }

    @Test func namesTheMissingField() {
        expectError(#"{"id":"a","accountType":"mint","tokens":1,"callbackTimeMs":5}"#, .accounts, index: 0, field: "version", message: "missing required field 'version'")
        expectError(
            #"[{"uid":"a","ts":1},{"uid":"b"}]"#, .frames, index: 1, field: "ts", message: "missing required field 'ts'")
    }

    @Test func namesTheFieldOfTheWrongType() {
        expectError(#"{"uid":7,"ts":1}"#, .frames, index: 0, field: "uid", message: "must be a string, got number")
        expectError(#"{"uid":"u","ts":"now"}"#, .frames, index: 0, field: "ts", message: "must be a number")
        expectError(
            #"{"id":"a","accountType":"mint","tokens":"1","callbackTimeMs":5,"version":1}"#, .accounts, index: 0, field: "tokens",
            message: "must be an integer, got string")
        expectError(
            #"{"id":"a","accountType":"mint","tokens":1.5,"callbackTimeMs":5,"version":1}"#, .accounts, index: 0, field: "tokens",
            message: "must be an integer")
        expectError(#"{"id":"e","name":null,"timestamp":1}"#, .events, index: 0, field: "name", message: "got null")
        expectError(#"{"domain":"a.com","type":"opened"}"#, .domains, index: 0, field: "type", message: "must be one of delivered, bounced")
        expectError(#"{"domain":"-bad-.com","type":"bounced"}"#, .domains, index: 0, field: "domain", message: "not a valid domain name")
        expectError(
            #"{"service_name":"s","payload":"p","severity":"loud","timestamp":1}"#, .logs, index: 0, field: "severity",
            message: "must be one of")
    }

    @Test func rejectsNumbersOutOfRange() {
        expectError(
            #"{"id":"a","accountType":"m","tokens":99999999999999999999,"callbackTimeMs":5,"version":1}"#, .accounts, index: 0,
            field: "tokens", message: "out of range")
        expectError(
            #"{"id":"a","accountType":"m","tokens":1,"callbackTimeMs":-1,"version":1}"#, .accounts, index: 0, field: "callbackTimeMs",
            message: "out of range")
        expectError(#"{"uid":"u","ts":1e400}"#, .frames, index: 0, field: "ts", message: "out of range")
        expectError(#"{"uid":"u","ts":-5}"#, .frames, index: 0, field: "ts", message: "out of range")
    }

    @Test func enforcesStringLimits() {
        let longPayload = String(repeating: "x", count: 2049)
        expectError(
            #"{"service_name":"s","payload":"\#(longPayload)","severity":"info","timestamp":1}"#, .logs, index: 0, field: "payload",
            message: "longer than the limit of 2048")
        let longId = String(repeating: "i", count: 129)
        expectError(#"{"uid":"u","ts":1,"id":"\#(longId)"}"#, .frames, index: 0, field: "id", message: "longer than the limit of 128")
        expectError(#"{"uid":"","ts":1}"#, .frames, index: 0, field: "uid", message: "must not be empty")
    }

    @Test func rejectsAmbiguousTopLevelDuplicates() {
        expectError(#"{"uid":"a","uid":"b","ts":1}"#, .frames, index: 0, field: "uid", message: "duplicate field 'uid'")
    }

    @Test func rejectsEmptyBodiesAndBatches() {
        expectError("", .frames, index: nil, field: nil, message: "empty body")
        expectError("  \n ", .frames, index: nil, field: nil, message: "empty body")
        expectError("[]", .frames, index: nil, field: nil, message: "empty batch")
        expectError("\n\n", .frames, format: .ndjson, index: nil, field: nil, message: "empty body")
    }

    @Test func namesTheEventWithMalformedJSON() {
        expectError(#"[{"uid":"a","ts":1},{"uid":"b","ts":"#, .frames, index: 1, field: nil, message: "malformed JSON")
        expectError(#"{"uid":"a","ts":1}"# + "\n" + #"{"uid":"b""#, .frames, format: .ndjson, index: 1, field: nil, message: "malformed JSON")
        expectError(#"{"uid":"a","ts":1} {"uid":"b","ts":1}"#, .frames, index: nil, field: nil, message: "unexpected data after")
        expectError(#"[{"uid":"a","ts":1} {"uid":"b","ts":1}]"#, .frames, index: 0, field: nil, message: "expected ',' or ']'")
        expectError(#"[{"uid":"a","ts":1}, 7]"#, .frames, index: 1, field: nil, message: "expected an object")
        expectError(#"{"uid":"a","ts":1} x"#, .frames, format: .ndjson, index: 0, field: nil, message: "unexpected data after the event")
    }

    @Test func reportsInvalidUTF8WithTheEventIndex() {
        let bytes = Array(#"{"uid":"a","ts":1}"#.utf8) + [0x0A] + Array(#"{"uid":""#.utf8) + [0xC3, 0x28] + Array(#"","ts":1}"#.utf8)
        do {
            _ = try parse(bytes, .frames, format: .ndjson)
            Issue.record("expected invalid UTF-8")
        } catch let error as IngestError {
            #expect(error.index == 1)
            #expect(error.message.contains("invalid UTF-8 at byte 27"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func validatesDomainNames() {
        #expect(DomainName.isValid("example.com"))
        #expect(DomainName.isValid("a-b.c0.Example.COM"))
        #expect(!DomainName.isValid(""))
        #expect(!DomainName.isValid("a..b"))
        #expect(!DomainName.isValid("a_b.com"))
        #expect(!DomainName.isValid("é.com"))
        #expect(!DomainName.isValid(String(repeating: "a", count: 64) + ".com"))
        #expect(!DomainName.isValid(Array(repeating: "abcdefghi", count: 26).joined(separator: ".")))
    }

    @Test func streamNamesAreSafeIdentifiers() {
        #expect(StreamSchema.isValidName("clicks_2"))
        #expect(!StreamSchema.isValidName("2clicks"))
        #expect(!StreamSchema.isValidName("drop table"))
        #expect(!StreamSchema.isValidName(""))
    }

    @Test func idsAndKeysWithControlCharactersAreRejectedNamingTheField() {
        expectError(#"{"id":"p\u0001q","name":"n","timestamp":1}"#, .events, index: 0, field: "id", message: "U+0001")
        expectError(#"{"id":"a\tb","name":"n","timestamp":1}"#, .events, index: 0, field: "id", message: "U+0009")
        expectError(#"{"uid":"u\u007f","ts":1}"#, .frames, index: 0, field: "uid", message: "U+007F")
        expectError(#"{"domain":"x","type":"delivered","id":"i\n"}"#, .domains, index: 0, field: "id", message: "control character")
    }

    @Test func nulInAnyTextFieldIsRejected() {
        expectError(
            #"{"service_name":"api","payload":"a\u0000b","severity":"info","timestamp":1}"#, .logs, index: 0, field: "payload", message: "NUL")
        expectError(#"{"id":"a","name":"x\u0000","timestamp":1}"#, .events, index: 0, field: "name", message: "NUL")
    }

    @Test func eventTimesBeyondTheSkewAreRejectedAndOldOnesKept() throws {
        let now: Int64 = 1_764_000_000_000
        func parse(_ text: String, _ schema: StreamSchema) throws -> [ValidatedEvent] {
            try Array(text.utf8).withUnsafeBytes { try IngestParser(schema: schema).parse($0, format: .json, latestEventTimeMs: now) }
        }
        #expect(throws: IngestError.self) { try parse(#"{"uid":"u","ts":99999999999}"#, .frames) }
        #expect(throws: IngestError.self) { try parse(#"{"id":"e","name":"n","timestamp":1764000001}"#, .events) }
        #expect(try parse(#"{"uid":"u","ts":1764000000}"#, .frames).first?.eventTimeMs == now)
        #expect(try parse(#"{"uid":"u","ts":946684800}"#, .frames).first?.eventTimeMs == 946_684_800_000)
        do {
            _ = try parse(#"{"uid":"u","ts":99999999999}"#, .frames)
        } catch let error as IngestError {
            #expect(error.field == "ts")
            #expect(error.message.contains("future"))
        }
    }
}

