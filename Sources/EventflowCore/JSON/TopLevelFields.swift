/// A top-level member of a stored event, decoded.
public enum TopLevelValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    /// Any other value (object, array, fraction, bool, null), as its JSON text.
    case json(String)

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The value as JSON text, for copying it into another document.
    public var jsonText: String {
        switch self {
        case .string(let value): JSONString.quoted(value)
        case .integer(let value): String(value)
        case .json(let text): text
        }
    }
}

/// Reads named top-level members of an event body that ingest already validated.
///
/// Processors call it for the few fields ingest did not extract into the stored event
/// (a domain event's `type`, a log line's severity): one scan, and only the named values
/// decoded; keys are compared as bytes, so the other members cost nothing.
public struct TopLevelFields: Sendable {
    private let names: [(name: String, bytes: [UInt8])]

    public init(_ names: [String]) {
        self.names = names.map { ($0, Array($0.utf8)) }
    }

    /// The named members of the JSON object in `bytes`; nil when the bytes are not one JSON object.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> [String: TopLevelValue]? {
        var scanner = JSONScanner(bytes)
        var members: [JSONMember] = []
        guard (try? scanner.scanObject(into: &members)) != nil else { return nil }
        var fields: [String: TopLevelValue] = [:]
        for member in members {
            guard let name = names.first(where: { JSONValueDecoding.key(bytes, member, equals: $0.bytes) })?.name else { continue }
            switch member.kind {
            case .string:
                fields[name] = .string(JSONValueDecoding.string(bytes, member.value, hasEscapes: member.valueHasEscapesOrFraction))
            case .number:
                if case .value(let integer) = JSONValueDecoding.integer(bytes, member.value, hasFraction: member.valueHasEscapesOrFraction) {
                    fields[name] = .integer(integer)
                } else {
                    fields[name] = .json(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[member.value]), as: UTF8.self))
                }
            default:
                fields[name] = .json(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[member.value]), as: UTF8.self))
            }
        }
        return fields
    }
}
