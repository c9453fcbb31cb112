/// The kind of a JSON value found by ``JSONScanner``.
public enum JSONValueKind: Sendable, Equatable {
    case string
    case number
    case object
    case array
    case bool
    case null

    /// The name used in error messages ("expected an integer, got string").
    public var name: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .object: "object"
        case .array: "array"
        case .bool: "boolean"
        case .null: "null"
        }
    }
}

/// One top-level member of a scanned JSON object, as byte ranges into the scanned buffer.
///
/// Ranges rather than decoded values keep scanning allocation-free: a validator decodes
/// only the few members its schema names, and only once.
public struct JSONMember: Sendable, Equatable {
    /// Bytes of the key between its quotes, still escaped when `keyHasEscapes`.
    public var key: Range<Int>
    public var keyHasEscapes: Bool
    public var kind: JSONValueKind
    /// Bytes of the value; for strings, the bytes between the quotes.
    public var value: Range<Int>
    /// For strings: contains a backslash escape. For numbers: has a fraction or exponent.
    public var valueHasEscapesOrFraction: Bool
}

/// Why a document is not valid JSON.
public struct JSONSyntaxError: Error, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case malformed(String)
        case invalidUTF8
        case tooDeep(limit: Int)
    }

    public var reason: Reason
    /// Byte offset of the problem within the scanned buffer.
    public var offset: Int

    public init(reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var message: String {
        switch reason {
        case .malformed(let what): "malformed JSON at byte \(offset): \(what)"
        case .invalidUTF8: "invalid UTF-8 at byte \(offset)"
        case .tooDeep(let limit): "JSON nested deeper than \(limit) levels at byte \(offset)"
        }
    }
}

/// A single-pass, validating JSON scanner (RFC 8259) that records the members of a
/// top-level object without building a tree.
///
/// It checks the full grammar, well-formed UTF-8 (no overlongs or surrogates), escape
/// sequences (no lone surrogates), and a nesting limit, so that anything it accepts can
/// be decoded by any conforming parser later.
public struct JSONScanner: ~Copyable {
    public static let defaultMaxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    /// Current read position.
    public private(set) var position: Int

    public init(_ bytes: UnsafeRawBufferPointer, startingAt position: Int = 0, maxDepth: Int = JSONScanner.defaultMaxDepth) {
        self.bytes = bytes
        self.position = position
        self.maxDepth = maxDepth
    }

    /// True when only whitespace remains.
    public mutating func isAtEnd() -> Bool {
        skipWhitespace()
        return position >= bytes.count
    }

    /// Peeks the next non-whitespace byte without consuming it.
    public mutating func peekByte() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Consumes `byte` if it is next (after whitespace).
    public mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if position < bytes.count, bytes[position] == byte {
            position += 1
            return true
        }
        return false
    }

    /// Scans one object at the current position and appends its top-level members to `members`.
    /// Returns the byte range of the whole object.
    public mutating func scanObject(into members: inout [JSONMember]) throws(JSONSyntaxError) -> Range<Int> {
        skipWhitespace()
        guard position < bytes.count else { throw error("expected an object, found end of input") }
        guard bytes[position] == UInt8(ascii: "{") else {
            let found = describe(bytes[position])
            throw error("expected an object, found \(found)")
        }
        let start = position
        try scanObjectBody(depth: 1, members: &members, recordMembers: true)
        return start..<position
    }

    /// Scans and validates any JSON value at the current position.
    public mutating func skipValue() throws(JSONSyntaxError) -> JSONValueKind {
        try scanValue(depth: 0).kind
    }

    // MARK: - Grammar

    private mutating func scanObjectBody(depth: Int, members: inout [JSONMember], recordMembers: Bool) throws(JSONSyntaxError) {
        guard depth <= maxDepth else { throw JSONSyntaxError(reason: .tooDeep(limit: maxDepth), offset: position) }
        position += 1  // "{"
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            guard bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describe(bytes[position]))") }
            let (key, keyEscaped) = try scanString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':' after key") }
            position += 1
            let value = try scanValue(depth: depth)
            if recordMembers {
                members.append(JSONMember(key: key, keyHasEscapes: keyEscaped, kind: value.kind, value: value.range, valueHasEscapesOrFraction: value.flag))
            }
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                return
            default:
                throw error("expected ',' or '}' in object, found \(describe(bytes[position]))")
            }
        }
    }

    private mutating func scanArrayBody(depth: Int) throws(JSONSyntaxError) {
        guard depth <= maxDepth else { throw JSONSyntaxError(reason: .tooDeep(limit: maxDepth), offset: position) }
        position += 1  // "["
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            _ = try scanValue(depth: depth)
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                return
            default:
                throw error("expected ',' or ']' in array, found \(describe(bytes[position]))")
            }
        }
    }

    private mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> (kind: JSONValueKind, range: Range<Int>, flag: Bool) {
        skipWhitespace()
        guard position < bytes.count else { throw error("expected a value, found end of input") }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "\""):
            let (range, escaped) = try scanString()
            return (.string, range, escaped)
        case UInt8(ascii: "{"):
            var ignored: [JSONMember] = []
            try scanObjectBody(depth: depth + 1, members: &ignored, recordMembers: false)
            return (.object, start..<position, false)
        case UInt8(ascii: "["):
            try scanArrayBody(depth: depth + 1)
            return (.array, start..<position, false)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return (.bool, start..<position, false)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return (.bool, start..<position, false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return (.null, start..<position, false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let fractional = try scanNumber()
            return (.number, start..<position, fractional)
        default:
            throw error("unexpected \(describe(bytes[position]))")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("truncated literal") }
        let base = literal.utf8Start
        for i in 0..<count where bytes[position + i] != base[i] {
            throw error("invalid literal")
        }
        position += count
    }

    /// Returns whether the number has a fraction or an exponent.
    private mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        var fractional = false
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number: expected a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw error("invalid number: leading zero") }
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            fractional = true
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number: expected a digit after '.'") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            fractional = true
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number: expected a digit in exponent") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        return fractional
    }

    /// Scans a string starting at its opening quote; returns the range between the quotes.
    private mutating func scanString() throws(JSONSyntaxError) -> (Range<Int>, Bool) {
        position += 1  // opening quote
        let start = position
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let range = start..<position
                position += 1
                return (range, escaped)
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if byte < 0x20 {
                throw error("unescaped control character in string")
            } else if byte < 0x80 {
                position += 1
            } else {
                try scanUTF8Sequence()
            }
        }
        throw error("unterminated string")
    }

    private mutating func scanEscape() throws(JSONSyntaxError) {
        position += 1  // backslash
        guard position < bytes.count else { throw error("unterminated escape") }
        switch bytes[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            let unit = try scanHexQuad()
            if (0xD800...0xDBFF).contains(unit) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate in \\u escape")
                }
                position += 1
                let low = try scanHexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error("unpaired surrogate in \\u escape")
            }
        default:
            throw error("invalid escape sequence")
        }
    }

    /// Expects `u` at the current position followed by four hex digits.
    private mutating func scanHexQuad() throws(JSONSyntaxError) -> UInt16 {
        position += 1  // "u"
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let digit = hexValue(bytes[position]) else { throw error("invalid hex digit in \\u escape") }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode Table 3-7).
    private mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[position]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw JSONSyntaxError(reason: .invalidUTF8, offset: position)
        }
        guard position + length <= bytes.count else { throw JSONSyntaxError(reason: .invalidUTF8, offset: position) }
        guard secondRange.contains(bytes[position + 1]) else { throw JSONSyntaxError(reason: .invalidUTF8, offset: position) }
        for i in 2..<length where bytes[position + i] & 0xC0 != 0x80 {
            throw JSONSyntaxError(reason: .invalidUTF8, offset: position)
        }
        position += length
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                position += 1
            default:
                return
            }
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private func error(_ what: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: .malformed(what), offset: position)
    }
}
