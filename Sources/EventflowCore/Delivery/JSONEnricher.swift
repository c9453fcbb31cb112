/// Adds fields to an event's JSON object on its way to the target (`"brand": "testBrand"`
/// by default), replacing top-level fields of the same name, without re-serialising
/// anything else.
public struct JSONEnricher: Sendable {
    /// The fields to add: name and JSON value text.
    public let fields: [(name: String, json: String)]
    private let names: [[UInt8]]
    private let prefix: [UInt8]

    /// Enriches with string values.
    public init(strings: [String: String]) {
        let sorted = strings.sorted { $0.key < $1.key }
        fields = sorted.map { ($0.key, JSONString.quoted($0.value)) }
        names = sorted.map { Array($0.key.utf8) }
        prefix = Array(fields.map { "\(JSONString.quoted($0.name)):\($0.json)" }.joined(separator: ",").utf8)
    }

    /// The enriched object; `object` must be a valid JSON object (as the log stores them).
    public func enrich(_ object: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        guard !fields.isEmpty else {
            output.append(contentsOf: object)
            return
        }
        var members: [JSONMember] = []
        members.reserveCapacity(16)
        var scanner = JSONScanner(object)
        let range = (try? scanner.scanObject(into: &members)) ?? 0..<object.count
        output.append(UInt8(ascii: "{"))
        output.append(contentsOf: prefix)
        let replaced = members.contains { member in names.contains { JSONValueDecoding.key(object, member, equals: $0) } }
        if !replaced {
            // Fast path: splice the enrichment after the opening brace.
            let inner = UnsafeRawBufferPointer(rebasing: object[(range.lowerBound + 1)..<range.upperBound])
            if !members.isEmpty { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: inner.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
            return
        }
        for member in members where !names.contains(where: { JSONValueDecoding.key(object, member, equals: $0) }) {
            output.append(UInt8(ascii: ","))
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[member.key]))
            output.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            let valueRange = member.kind == .string ? (member.value.lowerBound - 1)..<(member.value.upperBound + 1) : member.value
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[valueRange]))
        }
        output.append(UInt8(ascii: "}"))
    }
}
