/// A user id in 16 bytes when it is short lowercase hex (the usual 19-character uid),
/// so a window's set of millions of users costs 16 bytes per entry, not a String each.
///
/// The encoding keeps the length, so ids differing only in leading zeros stay distinct;
/// any other id is kept as its string. Two ids are equal exactly when their strings are.
public enum UserKey: Hashable, Sendable {
    case hex(high: UInt64, low: UInt64)
    case other(String)

    /// The longest hex id stored compactly: 30 digits (120 bits) plus its length in the top byte.
    static let maxHexDigits = 30

    public init(_ uid: String) {
        var contiguous = uid
        self = contiguous.withUTF8 { Self.compactHex(UnsafeRawBufferPointer($0)) } ?? .other(uid)
    }

    private static func compactHex(_ bytes: UnsafeRawBufferPointer) -> UserKey? {
        guard (1...maxHexDigits).contains(bytes.count) else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for byte in bytes {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            high = (high << 4) | (low >> 60)
            low = (low << 4) | digit
        }
        return .hex(high: (UInt64(bytes.count) << 56) | high, low: low)
    }

    /// The id as it was received.
    public var uid: String {
        switch self {
        case .other(let uid):
            return uid
        case .hex(let high, let low):
            let digits = Int(high >> 56)
            let hexDigits = Array("0123456789abcdef".utf8)
            var bytes = [UInt8](repeating: 0, count: digits)
            var high = high & 0x00FF_FFFF_FFFF_FFFF
            var low = low
            for index in stride(from: digits - 1, through: 0, by: -1) {
                bytes[index] = hexDigits[Int(low & 0xF)]
                low = (low >> 4) | ((high & 0xF) << 60)
                high >>= 4
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
