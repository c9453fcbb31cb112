import EventflowCore
import Testing

@Suite struct JSONScannerTests {
    /// Scans `text` as one top-level object followed only by whitespace.
    func scan(_ bytes: [UInt8]) throws -> [JSONMember] {
        try bytes.withUnsafeBytes { buffer in
            var scanner = JSONScanner(buffer)
            var members: [JSONMember] = []
            _ = try scanner.scanObject(into: &members)
            guard scanner.isAtEnd() else { throw JSONSyntaxError(reason: .malformed("trailing"), offset: scanner.position) }
            return members
        }
    }

    func scan(_ text: String) throws -> [JSONMember] { try scan(Array(text.utf8)) }

    @Test func recordsTopLevelMembersOnly() throws {
        let text = #"{"uid":"abc","ts":17,"nested":{"uid":5,"ts":"x","uid":6},"list":[1,{"a":null}],"ok":true}"#
        let members = try scan(text)
        let bytes = Array(text.utf8)
        let keys = members.map { String(decoding: bytes[$0.key], as: UTF8.self) }
        #expect(keys == ["uid", "ts", "nested", "list", "ok"])
        #expect(members.map(\.kind) == [.string, .number, .object, .array, .bool])
        #expect(String(decoding: bytes[members[0].value], as: UTF8.self) == "abc")
    }

    @Test(arguments: [
        #"{}"#, #"{"a":-0.5e+10}"#, #"{"a":"\u00e9\ud83d\ude00\n\"\\\/"}"#, #"{"a":[]}"#, #"{"a":[[],{}]}"#,
        " { \"a\" : null , \"b\" : false } ", #"{"a":"\u0000"}"#, #"{"é":"ü€😀"}"#,
    ])
    func acceptsValidJSON(_ text: String) throws {
        _ = try scan(text)
    }

    @Test(arguments: [
        (#"{"a":1"#, "unterminated object"),
        (#"{"a":1,}"#, "expected a string key"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a":01}"#, "leading zero"),
        (#"{"a":1.}"#, "digit after '.'"),
        (#"{"a":1e}"#, "digit in exponent"),
        (#"{"a":-}"#, "expected a digit"),
        (#"{"a":tru}"#, "literal"),
        (#"{"a":"\x"}"#, "invalid escape"),
        (#"{"a":"\ud800"}"#, "unpaired surrogate"),
        (#"{"a":"\udc00"}"#, "unpaired surrogate"),
        (#"{"a":"\u12"}"#, "hex digit"),
        (#"{"a":"abc}"#, "unterminated string"),
        (#"{"a":[1,2}"#, "expected ',' or ']'"),
        (#"[1]"#, "expected an object"),
        (#"{'a':1}"#, "expected a string key"),
        (#"{"a":NaN}"#, "unexpected"),
    ])
    func rejectsMalformedJSON(_ text: String, _ reason: String) {
        #expect {
            _ = try scan(text)
        } throws: { error in
            (error as? JSONSyntaxError)?.message.contains(reason) == true
        }
    }

    @Test func rejectsRawControlCharactersInStrings() {
        #expect(throws: JSONSyntaxError.self) { _ = try scan(Array(#"{"a":""#.utf8) + [0x00] + Array(#""}"#.utf8)) }
        #expect(throws: JSONSyntaxError.self) { _ = try scan(Array(#"{"a":""#.utf8) + [0x0A] + Array(#""}"#.utf8)) }
    }

    @Test(arguments: [
        [0xC0, 0xAF],  // overlong "/"
        [0xE0, 0x80, 0xAF],  // overlong
        [0xED, 0xA0, 0x80],  // UTF-16 surrogate encoded in UTF-8
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xFF],
        [0xC3],  // truncated sequence
        [0x80],  // lone continuation byte
    ] as [[UInt8]])
    func rejectsInvalidUTF8(_ sequence: [UInt8]) {
        let document = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect {
            _ = try scan(document)
        } throws: { error in
            (error as? JSONSyntaxError)?.reason == .invalidUTF8
        }
    }

    @Test func limitsNestingDepth() throws {
        let deep = String(repeating: #"{"a":"#, count: 70) + "1" + String(repeating: "}", count: 70)
        #expect {
            _ = try scan(deep)
        } throws: { error in
            (error as? JSONSyntaxError)?.reason == .tooDeep(limit: JSONScanner.defaultMaxDepth)
        }
        let shallow = String(repeating: #"{"a":"#, count: 60) + "1" + String(repeating: "}", count: 60)
        _ = try scan(shallow)
    }

    @Test func decodesEscapedStrings() throws {
        let text = #"{"a":"x\"y\\z\/\n\u00e9\ud83d\ude00"}"#
        let bytes = Array(text.utf8)
        let members = try scan(text)
        let decoded = bytes.withUnsafeBytes { JSONValueDecoding.string($0, members[0].value, hasEscapes: true) }
        #expect(decoded == "x\"y\\z/\né😀")
    }

    @Test func readsIntegersWithOverflowDetection() {
        func integer(_ text: String, fraction: Bool = false) -> JSONValueDecoding.IntegerResult {
            Array(text.utf8).withUnsafeBytes { JSONValueDecoding.integer($0, 0..<$0.count, hasFraction: fraction) }
        }
        #expect(integer("0") == .value(0))
        #expect(integer("-42") == .value(-42))
        #expect(integer("9223372036854775807") == .value(Int64.max))
        #expect(integer("-9223372036854775808") == .value(Int64.min))
        #expect(integer("9223372036854775808") == .outOfRange)
        #expect(integer("123456789012345678901234567890") == .outOfRange)
        #expect(integer("1.5", fraction: true) == .notAnInteger)
    }
}
