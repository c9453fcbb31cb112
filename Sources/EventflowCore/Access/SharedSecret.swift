/// A shared secret (an API key) and the one safe way to check a candidate against it.
public struct SharedSecret: Sendable {
    private let bytes: [UInt8]

    /// Nil for an empty secret: an empty key would let everyone in.
    public init?(_ secret: String) {
        guard !secret.isEmpty else { return nil }
        bytes = Array(secret.utf8)
    }

    /// Compares whole keys, length included, without an early exit, so that the time taken
    /// does not reveal how much of the key matched.
    public func matches(_ candidate: some Collection<UInt8>) -> Bool {
        var difference: UInt8 = candidate.count == bytes.count ? 0 : 1
        var index = 0
        for byte in candidate.prefix(bytes.count) {
            difference |= byte ^ bytes[index]
            index += 1
        }
        return difference == 0
    }

    /// Whether request headers carry the secret, as `X-Api-Key: KEY` or `Authorization: Bearer KEY`.
    public func authorizes(apiKeyHeader: String?, authorizationHeader: String?) -> Bool {
        if let given = apiKeyHeader, matches(given.utf8) { return true }
        if let authorization = authorizationHeader, authorization.lowercased().hasPrefix("bearer ") {
            return matches(authorization.utf8.dropFirst(7))
        }
        return false
    }
}
