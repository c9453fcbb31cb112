import EventflowCore
import Foundation

/// The limits at Eventflow's edge, as text from flags or the config file, before validation:
/// how long connections may idle or dribble, how many may be open, how far ahead of the
/// server's clock an event time may lie, and the longest pause a peer's `Retry-After` may
/// impose. Decodes from the config file's `server` section (keys as ``Setting``'s raw values).
public struct EdgeSettings: Sendable, Decodable {
    public var idleTimeout: String?
    public var headerTimeout: String?
    public var bodyTimeout: String?
    public var maxConnections: Int?
    public var maxFutureSkew: String?
    public var maxRetryAfter: String?
    public var maxInflightBodyBytes: Int?
    public var maxInflightReadBytes: Int?

    public init(
        idleTimeout: String? = nil, headerTimeout: String? = nil, bodyTimeout: String? = nil, maxConnections: Int? = nil,
        maxFutureSkew: String? = nil, maxRetryAfter: String? = nil, maxInflightBodyBytes: Int? = nil, maxInflightReadBytes: Int? = nil
    ) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
        self.maxFutureSkew = maxFutureSkew
        self.maxRetryAfter = maxRetryAfter
        self.maxInflightBodyBytes = maxInflightBodyBytes
        self.maxInflightReadBytes = maxInflightReadBytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Setting.self)
        idleTimeout = try container.decodeIfPresent(String.self, forKey: .idleTimeout)
        headerTimeout = try container.decodeIfPresent(String.self, forKey: .headerTimeout)
        bodyTimeout = try container.decodeIfPresent(String.self, forKey: .bodyTimeout)
        maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections)
        maxFutureSkew = try container.decodeIfPresent(String.self, forKey: .maxFutureSkew)
        maxRetryAfter = try container.decodeIfPresent(String.self, forKey: .maxRetryAfter)
        maxInflightBodyBytes = try container.decodeIfPresent(Int.self, forKey: .maxInflightBodyBytes)
        maxInflightReadBytes = try container.decodeIfPresent(Int.self, forKey: .maxInflightReadBytes)
    }

    /// Names a setting in errors the way the user wrote it (`--idle-timeout`, `server.idle_timeout`).
    public enum Setting: String, Sendable, CodingKey {
        case idleTimeout = "idle_timeout"
        case headerTimeout = "header_timeout"
        case bodyTimeout = "body_timeout"
        case maxConnections = "max_connections"
        case maxFutureSkew = "max_future_skew"
        case maxRetryAfter = "max_retry_after"
        case maxInflightBodyBytes = "max_inflight_body_bytes"
        case maxInflightReadBytes = "max_inflight_read_bytes"

        /// The command-line flag: `--idle-timeout`.
        public var flag: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
        /// The config file's key: `server.idle_timeout`.
        public var configKey: String { "server." + rawValue }
    }

    /// Validates the settings given and applies them onto `configuration`.
    public func apply(to configuration: inout ServerConfiguration, naming name: (Setting) -> String) throws(ConfigError) {
        func duration(_ text: String?, _ setting: Setting, atLeast minimum: Double) throws(ConfigError) -> Duration? {
            guard let text else { return nil }
            guard let seconds = DurationText.seconds(text), seconds >= minimum else {
                throw ConfigError("\(name(setting)): '\(text)' is not a duration of at least \(minimum)s, like 10s, 500ms or 1h")
            }
            return .checkedSeconds(seconds)
        }
        if let idle = try duration(idleTimeout, .idleTimeout, atLeast: 0.1) { configuration.connections.idleTimeout = idle }
        if let header = try duration(headerTimeout, .headerTimeout, atLeast: 0.1) { configuration.connections.headerTimeout = header }
        if let body = try duration(bodyTimeout, .bodyTimeout, atLeast: 0.1) { configuration.connections.bodyTimeout = body }
        if let maxConnections {
            guard (1...1_000_000).contains(maxConnections) else { throw ConfigError("\(name(.maxConnections)) must be between 1 and 1000000") }
            configuration.connections.maxConnections = maxConnections
        }
        if let maxInflightBodyBytes {
            guard maxInflightBodyBytes >= 1024 else { throw ConfigError("\(name(.maxInflightBodyBytes)) must be at least 1024") }
            configuration.connections.maxInflightBodyBytes = maxInflightBodyBytes
        }
        if let maxInflightReadBytes {
            let page = StreamReadPage.largestReservation(maxBodyBytes: configuration.maxBodyBytes)
            guard maxInflightReadBytes >= page else {
                throw ConfigError("\(name(.maxInflightReadBytes)) must be at least \(page), the bytes one full page of the read API reserves")
            }
            configuration.connections.maxInflightReadBytes = maxInflightReadBytes
        }
        if let skew = try duration(maxFutureSkew, .maxFutureSkew, atLeast: 0) { configuration.maxFutureSkew = skew }
        if let pause = try duration(maxRetryAfter, .maxRetryAfter, atLeast: 0) {
            configuration.delivery?.retry.maxRetryAfter = pause.seconds
            configuration.accounts?.retry.maxRetryAfter = pause.seconds
        }
    }
}
