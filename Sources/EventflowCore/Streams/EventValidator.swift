/// Checks one scanned event against its schema's field rules.
///
/// Reuses its member buffer between events, so validating a batch allocates only the
/// strings it extracts (id and key).
struct EventValidator {
    let schema: StreamSchema
    private var members: [JSONMember] = []
    private let keyFieldIndex: Int?
    private let timeFieldIndex: Int?
    private let idFieldIndex: Int?
    private let latestEventTimeMs: Int64

    init(schema: StreamSchema, latestEventTimeMs: Int64 = .max) {
        self.schema = schema
        self.latestEventTimeMs = latestEventTimeMs
        keyFieldIndex = schema.fields.firstIndex { $0.name == schema.keyField }
        timeFieldIndex = schema.fields.firstIndex { $0.name == schema.timeField }
        idFieldIndex = schema.fields.firstIndex { $0.name == "id" }
        members.reserveCapacity(16)
    }

    /// Scans the object at the scanner's position in `bytes` and validates it.
    mutating func validate(
        _ bytes: UnsafeRawBufferPointer, scanner: inout JSONScanner, index: Int, baseOffset: Int = 0
    ) throws(IngestError) -> ValidatedEvent {
        members.removeAll(keepingCapacity: true)
        let range: Range<Int>
        do {
            range = try scanner.scanObject(into: &members)
        } catch {
            var located = error
            located.offset += baseOffset
            throw IngestError(located.message, index: index)
        }
        var event = ValidatedEvent(range: range)
        for (ruleIndex, rule) in schema.fields.enumerated() {
            var found: JSONMember?
            for member in members where JSONValueDecoding.key(bytes, member, equals: rule.nameBytes) {
                guard found == nil else { throw IngestError("duplicate field '\(rule.name)'", index: index, field: rule.name) }
                found = member
            }
            guard let member = found else {
                if rule.required { throw IngestError("missing required field '\(rule.name)'", index: index, field: rule.name) }
                continue
            }
            let value = try FieldCheck.check(bytes, member, against: rule, index: index, latestTimeMs: latestEventTimeMs)
            if ruleIndex == idFieldIndex || ruleIndex == keyFieldIndex, case .string(let text) = value {
                // Ids and keys travel in headers (Idempotency-Key) and key columns: no control characters.
                if let byte = text.utf8.first(where: FieldCheck.isControl) {
                    throw IngestError(
                        "field '\(rule.name)' holds the control character U+\(FieldCheck.hex(byte)); ids and keys must be printable",
                        index: index, field: rule.name)
                }
                if ruleIndex == idFieldIndex { event.id = text }
                if ruleIndex == keyFieldIndex { event.key = text }
            }
            if ruleIndex == timeFieldIndex, case .timeMs(let ms) = value { event.eventTimeMs = ms }
        }
        return event
    }
}

/// A field value that passed its rule, in the form the stored event needs.
enum CheckedValue {
    case string(String)
    case integer(Int64)
    case timeMs(Int64)
    case other
}

/// The type rules of ``FieldType``.
enum FieldCheck {
    /// Largest accepted unix time: the year 5138, in milliseconds.
    static let maxUnixTimeMs: Double = 1e14
    /// Numbers from this value up are read as milliseconds rather than seconds.
    static let millisecondsThreshold: Double = 1e11

    /// C0 control characters and DEL: never valid in an HTTP header value.
    static func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    static func check(
        _ bytes: UnsafeRawBufferPointer, _ member: JSONMember, against rule: FieldRule, index: Int, latestTimeMs: Int64 = .max
    ) throws(IngestError) -> CheckedValue {
        func fail(_ message: String) -> IngestError { IngestError("field '\(rule.name)' \(message)", index: index, field: rule.name) }
        func expect(_ kind: JSONValueKind, _ description: String) throws(IngestError) {
            guard member.kind == kind else { throw fail("must be \(description), got \(member.kind.name)") }
        }
        func decodedString() -> String {
            JSONValueDecoding.string(bytes, member.value, hasEscapes: member.valueHasEscapesOrFraction)
        }

        switch rule.type {
        case .any:
            return .other
        case .string(let maxBytes):
            try expect(.string, "a string")
            let value = decodedString()
            guard !value.utf8.isEmpty else { throw fail("must not be empty") }
            guard value.utf8.count <= maxBytes else { throw fail("is \(value.utf8.count) bytes, longer than the limit of \(maxBytes)") }
            // PostgreSQL text cannot hold NUL; one such event must not fail every other client's group commit.
            guard !value.utf8.contains(0) else { throw fail("holds the character U+0000 (NUL), which no text column can store") }
            return .string(value)
        case .integer(let bounds):
            try expect(.number, "an integer")
            switch JSONValueDecoding.integer(bytes, member.value, hasFraction: member.valueHasEscapesOrFraction) {
            case .notAnInteger:
                throw fail("must be an integer, got a number with a fraction or exponent")
            case .outOfRange:
                throw fail("is out of range (\(bounds.lowerBound)...\(bounds.upperBound))")
            case .value(let value):
                guard bounds.contains(value) else { throw fail("is out of range (\(bounds.lowerBound)...\(bounds.upperBound))") }
                return .integer(value)
            }
        case .unixTime:
            try expect(.number, "a number (unix seconds or milliseconds)")
            return .timeMs(try unixTimeMs(bytes, member, latestMs: latestTimeMs, fail: fail))
        case .timestamp:
            if member.kind == .string {
                guard !member.value.isEmpty else { throw fail("must not be empty") }
                return .other
            }
            try expect(.number, "a number (unix seconds or milliseconds) or a string")
            return .timeMs(try unixTimeMs(bytes, member, latestMs: latestTimeMs, fail: fail))
        case .oneOf(let allowed):
            try expect(.string, "a string")
            let value = decodedString()
            guard allowed.contains(value) else { throw fail("must be one of \(allowed.joined(separator: ", ")), got '\(value)'") }
            return .string(value)
        case .domainName:
            try expect(.string, "a string")
            let value = decodedString()
            guard DomainName.isValid(value) else {
                throw fail("is not a valid domain name (at most 253 bytes; labels of 1-63 letters, digits and inner hyphens)")
            }
            return .string(value.lowercased())
        }
    }

    private static func unixTimeMs(
        _ bytes: UnsafeRawBufferPointer, _ member: JSONMember, latestMs: Int64, fail: (String) -> IngestError
    ) throws(IngestError) -> Int64 {
        guard let value = JSONValueDecoding.double(bytes, member.value), value >= 0 else {
            throw fail("is out of range (a unix time from 0 up to 10^14 ms)")
        }
        let milliseconds = value >= millisecondsThreshold ? value : value * 1000
        guard milliseconds <= maxUnixTimeMs else { throw fail("is out of range (a unix time from 0 up to 10^14 ms)") }
        let time = Int64(milliseconds.rounded(.down))
        guard time <= latestMs else {
            throw fail("lies too far in the future: more than --max-future-skew ahead of the server's clock")
        }
        return time
    }
}

/// DNS name syntax as used by mail domains.
public enum DomainName {
    /// At most 253 bytes of dot-separated labels, each 1–63 ASCII letters, digits or hyphens, not starting or ending with a hyphen.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard !utf8.isEmpty, utf8.count <= 253 else { return false }
        for label in utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { return false }
            for byte in label {
                let isLetter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                let isDigit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                guard isLetter || isDigit || byte == UInt8(ascii: "-") else { return false }
            }
        }
        return true
    }
}
