import EventflowCore
/// The processor settings as text, from flags or the config file, before validation.
public struct ProcessorSettings: Sendable {
    public var windows: [String]?
    public var allowedLateness: String?
    public var resultsURL: String?
    public var callbackURL: String?
    public var logBatchSize: Int?
    public var logFlushInterval: String?

    public init(
        windows: [String]? = nil, allowedLateness: String? = nil, resultsURL: String? = nil, callbackURL: String? = nil,
        logBatchSize: Int? = nil, logFlushInterval: String? = nil
    ) {
        self.windows = windows
        self.allowedLateness = allowedLateness
        self.resultsURL = resultsURL
        self.callbackURL = callbackURL
        self.logBatchSize = logBatchSize
        self.logFlushInterval = logFlushInterval
    }

    /// Names a setting in errors the way the user wrote it (`--windows`, `processors.unique_users.windows`).
    public enum Setting: Sendable {
        case windows, allowedLateness, logBatchSize, logFlushInterval
    }

    /// Validates the settings given and applies them onto `configuration`.
    public func apply(to configuration: inout ServerConfiguration, naming name: (Setting) -> String) throws(ConfigError) {
        if var uniqueUsers = configuration.uniqueUsers {
            if let windows {
                var sizes: [Int64] = []
                for text in windows {
                    guard let seconds = UniqueUsersConfiguration.windowSeconds(text) else {
                        throw ConfigError("\(name(.windows)): '\(text)' is not a window size like 1m, 1h or 1d (whole seconds, at least 1s)")
                    }
                    sizes.append(seconds)
                }
                guard !sizes.isEmpty else { throw ConfigError("\(name(.windows)) needs at least one window size") }
                uniqueUsers.windowSeconds = sizes
            }
            if let allowedLateness {
                guard let seconds = DurationText.seconds(allowedLateness), seconds >= 0 else {
                    throw ConfigError("\(name(.allowedLateness)): '\(allowedLateness)' is not a duration like 5s or 500ms")
                }
                uniqueUsers.latenessSeconds = seconds
            }
            uniqueUsers.resultsURL = resultsURL ?? uniqueUsers.resultsURL
            configuration.uniqueUsers = uniqueUsers
        }
        if let callbackURL { configuration.accounts?.callbackURL = callbackURL }
        if let logBatchSize {
            guard logBatchSize > 0 else { throw ConfigError("\(name(.logBatchSize)) must be positive") }
            configuration.logStore?.batchSize = logBatchSize
        }
        if let logFlushInterval {
            guard let seconds = DurationText.seconds(logFlushInterval), seconds > 0 else {
                throw ConfigError("\(name(.logFlushInterval)): '\(logFlushInterval)' is not a duration like 1s or 200ms")
            }
            configuration.logStore?.flushInterval = seconds
        }
    }
}
