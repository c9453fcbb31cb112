/// Decodes the scalar values that ``JSONScanner`` located, on demand.
///
/// Only called for the members a schema names, on bytes the scanner has already
/// validated, so the decoders can assume well-formed input.
public enum JSONValueDecoding {
    /// Decodes a string value's bytes (between the quotes), resolving escapes.
    public static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, hasEscapes: Bool) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard hasEscapes else { return String(decoding: slice, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        utf8.reserveCapacity(slice.count)
        var i = 0
        while i < slice.count {
            let byte = slice[i]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                i += 1
                continue
            }
            let code = slice[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var unit = UInt32(hexQuad(slice, at: i))
                i += 4
                if (0xD800...0xDBFF).contains(unit) {
                    let low = UInt32(hexQuad(slice, at: i + 2))
                    i += 6
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                }
                scalars.removeAll(keepingCapacity: true)
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                utf8.append(contentsOf: String(scalars).utf8)
            default: utf8.append(code)  // \" \\ \/
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Compares a key's bytes with `name` (UTF-8) without allocating; escaped keys are decoded first.
    public static func key(_ bytes: UnsafeRawBufferPointer, _ member: JSONMember, equals name: [UInt8]) -> Bool {
        if member.keyHasEscapes {
            return Array(string(bytes, member.key, hasEscapes: true).utf8) == name
        }
        guard member.key.count == name.count else { return false }
        var offset = 0
        for index in member.key {
            if bytes[index] != name[offset] { return false }
            offset += 1
        }
        return true
    }

    /// The outcome of reading a JSON number as an integer.
    public enum IntegerResult: Equatable, Sendable {
        case value(Int64)
        case notAnInteger
        case outOfRange
    }

    /// Reads an integer number; fractions and exponents are not integers.
    public static func integer(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, hasFraction: Bool) -> IntegerResult {
        guard !hasFraction else { return .notAnInteger }
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var magnitude: UInt64 = 0
        while index < range.upperBound {
            let digit = UInt64(bytes[index] &- UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return .outOfRange }
            magnitude = sum
            index += 1
        }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return .outOfRange }
            return .value(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        if magnitude > UInt64(Int64.max) { return .outOfRange }
        return .value(Int64(magnitude))
    }

    /// Reads any JSON number as a Double; nil when it does not fit (overflows to infinity).
    public static func double(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double? {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    private static func hexQuad(_ bytes: UnsafeRawBufferPointer, at index: Int) -> UInt16 {
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8 =
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
                default: byte - UInt8(ascii: "A") + 10
                }
            value = value << 4 | UInt16(digit)
        }
        return value
    }
}
