/// The callback of one account version: what the dispatcher fires, once, with the
/// idempotency key `<id>:<version>`.
public struct AccountCallback: Hashable, Sendable, CustomStringConvertible {
    public var id: String
    public var version: Int64

    public init(id: String, version: Int64) {
        self.id = id
        self.version = version
    }

    /// The `Idempotency-Key` its requests carry.
    public var idempotencyKey: String { "\(id):\(version)" }

    public var description: String { idempotencyKey }
}
