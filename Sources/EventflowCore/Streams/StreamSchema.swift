/// The type a field of an event must have.
public enum FieldType: Sendable, Equatable {
    /// A non-empty string of at most `maxBytes` UTF-8 bytes (after unescaping).
    case string(maxBytes: Int)
    /// An integer number (no fraction, no exponent) within the range.
    case integer(ClosedRange<Int64>)
    /// A non-negative number of unix seconds, or of milliseconds when it is 10^11 or more.
    case unixTime
    /// A unix time as for ``unixTime``, or a non-empty string (e.g. RFC 3339).
    case timestamp
    /// A string that is one of the listed values.
    case oneOf([String])
    /// A DNS name: at most 253 bytes, labels of 1–63 letters, digits or inner hyphens.
    case domainName
    /// Any JSON value.
    case any
}

/// One field a stream's events may or must carry.
public struct FieldRule: Sendable, Equatable {
    public var name: String
    public var type: FieldType
    public var required: Bool
    let nameBytes: [UInt8]

    public init(_ name: String, _ type: FieldType, required: Bool = true) {
        self.name = name
        self.type = type
        self.required = required
        self.nameBytes = Array(name.utf8)
    }
}

/// What a stream accepts, and which fields become the stored event's key and event time.
///
/// Every stream also accepts an optional `id` (a string of at most 128 bytes), the
/// event's idempotency key.
public struct StreamSchema: Sendable, Equatable {
    public static let maxIdBytes = 128

    public var name: String
    public var fields: [FieldRule]
    /// The field whose value is stored as the event key (domains are lower-cased).
    public var keyField: String?
    /// The field whose unix time is stored as the event time, in milliseconds.
    public var timeField: String?

    public init(name: String, fields: [FieldRule], keyField: String? = nil, timeField: String? = nil) {
        self.name = name
        self.fields = fields
        self.keyField = keyField
        self.timeField = timeField
        if !fields.contains(where: { $0.name == "id" }) {
            self.fields.append(FieldRule("id", .string(maxBytes: Self.maxIdBytes), required: false))
        }
    }

    /// Whether `name` can name a stream: 1–48 characters of `a-z`, `0-9`, `_`, starting with a letter.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard let first = utf8.first, (1...48).contains(utf8.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}

extension StreamSchema {
    /// Application events delivered to the target by the `deliver` processor.
    public static let events = StreamSchema(
        name: "events",
        fields: [
            FieldRule("id", .string(maxBytes: maxIdBytes)),
            FieldRule("name", .string(maxBytes: 1024)),
            FieldRule("body", .any, required: false),
            FieldRule("timestamp", .timestamp),
        ],
        keyField: "id",
        timeField: "timestamp"
    )

    /// User frames counted per time window by `unique-users`.
    public static let frames = StreamSchema(
        name: "frames",
        fields: [
            FieldRule("uid", .string(maxBytes: 128)),
            FieldRule("ts", .unixTime),
        ],
        keyField: "uid",
        timeField: "ts"
    )

    /// Versioned account updates kept by `accounts`.
    public static let accounts = StreamSchema(
        name: "accounts",
        fields: [
            FieldRule("id", .string(maxBytes: maxIdBytes)),
            FieldRule("accountType", .string(maxBytes: 128)),
            FieldRule("tokens", .integer(Int64.min...Int64.max)),
            FieldRule("callbackTimeMs", .integer(0...604_800_000)),
            FieldRule("data", .any, required: false),
            FieldRule("version", .integer(0...Int64.max)),
        ],
        keyField: "id"
    )

    /// Mail delivery outcomes per domain, classified by `domains`.
    public static let domains = StreamSchema(
        name: "domains",
        fields: [
            FieldRule("domain", .domainName),
            FieldRule("type", .oneOf(["delivered", "bounced"])),
        ],
        keyField: "domain"
    )

    /// Service log lines stored in batches by `log-store`.
    public static let logs = StreamSchema(
        name: "logs",
        fields: [
            FieldRule("service_name", .string(maxBytes: 256)),
            FieldRule("payload", .string(maxBytes: 2048)),
            FieldRule("severity", .oneOf(["debug", "info", "warn", "error", "fatal"])),
            FieldRule("timestamp", .timestamp),
        ],
        keyField: "service_name",
        timeField: "timestamp"
    )

    /// The five streams every Eventflow serves.
    public static let defaults: [StreamSchema] = [.events, .frames, .accounts, .domains, .logs]
}
