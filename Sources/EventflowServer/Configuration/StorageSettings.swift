import EventflowCore
import EventflowLog

/// The storage settings as text, from flags or the config file, before validation.
public struct StorageSettings: Sendable {
    public var engine: String?
    public var postgresURL: String?
    public var leaseDuration: String?
    public var retention: String?
    /// Prefixes the names in errors: `--` for flags, `storage.` for the config file.
    public var keyPrefix: String

    public init(engine: String?, postgresURL: String?, leaseDuration: String?, retention: String? = nil, keyPrefix: String) {
        self.engine = engine
        self.postgresURL = postgresURL
        self.leaseDuration = leaseDuration
        self.retention = retention
        self.keyPrefix = keyPrefix
    }

    /// Validates and applies: `postgres` needs a URL; a URL alone means `postgres`.
    public func apply(to configuration: inout ServerConfiguration) throws(ConfigError) {
        let urlKey = keyPrefix == "--" ? "--postgres-url" : "\(keyPrefix)postgres_url"
        let engineKey = keyPrefix == "--" ? "--storage" : "\(keyPrefix)engine"
        var url: PostgresURL?
        if let postgresURL {
            do throws(PostgresURLError) {
                url = try PostgresURL(postgresURL)
            } catch {
                throw ConfigError("\(urlKey): \(error)")
            }
        }
        switch engine {
        case nil:
            if let url { configuration.storage = .postgres(url) }
        case "sqlite":
            configuration.storage = .sqlite
        case "postgres":
            if let url {
                configuration.storage = .postgres(url)
            } else if case .sqlite = configuration.storage {
                throw ConfigError("\(engineKey) postgres needs \(urlKey) (or EVENTFLOW_POSTGRES_URL), e.g. postgres://eventflow@127.0.0.1:5432/eventflow")
            }
        case let other?:
            throw ConfigError("\(engineKey): '\(other)' is not a storage engine; use sqlite or postgres")
        }
        if let leaseDuration {
            guard let seconds = DurationText.seconds(leaseDuration), seconds >= 1 else {
                throw ConfigError("\(keyPrefix == "--" ? "--lease-duration" : "\(keyPrefix)lease_duration"): '\(leaseDuration)' is not a duration of at least 1s, like 5s")
            }
            configuration.leaseDuration = .checkedSeconds(seconds)
        }
        if let retention {
            guard let duration = DurationText.duration(retention) else {
                throw ConfigError("\(keyPrefix)retention: '\(retention)' is not a duration, like 7d or 12h")
            }
            configuration.retention = duration
        }
    }

    /// Parses a role name; the error names the key and the choices.
    public static func role(_ text: String, key: String) throws(ConfigError) -> ServerRole {
        guard let role = ServerRole(rawValue: text) else {
            throw ConfigError("\(key): '\(text)' is not a role; use \(ServerRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return role
    }
}
