import EventflowCore
import Foundation
import Yams

/// The YAML config file of `eventflow serve --config FILE`. Every key is optional;
/// flags given on the command line win over the file.
///
/// ```yaml
/// server: { host: 127.0.0.1, port: 8080, max_body_bytes: 4194304, api_key: secret, role: all,
///           idle_timeout: 60s, header_timeout: 10s, body_timeout: 60s, max_connections: 10000,
///           max_future_skew: 1h, max_retry_after: 1h }   # api_key_file: /etc/eventflow/key instead of api_key
/// storage: { data_dir: ./data, max_size_bytes: 10737418240, retention: 7d }
/// # or, shared by several processes:
/// # storage: { engine: postgres, postgres_url: "postgres://eventflow@127.0.0.1:5432/eventflow", lease_duration: 5s }
/// group_commit: { max_pending_events: 200000, max_pending_bytes: 67108864,
///                 max_batch_events: 20000, max_batch_bytes: 16777216, max_delay_ms: 0 }
/// processors:
///   unique_users: { windows: [1m, 1h], allowed_lateness: 5s, results_url: http://127.0.0.1:9999/results }
///   accounts: { callback_url: http://127.0.0.1:9090/callbacks }
///   log_store: { batch_size: 5000, flush_interval: 1s }
/// streams:                      # extra streams besides the five defaults
///   clicks:
///     key: user                 # field stored as the event key (optional)
///     time: at                  # field stored as the event time (optional)
///     fields:
///       user: { type: string, max_bytes: 64 }
///       at: { type: timestamp }
///       page: { type: any, required: false }
/// ```
public struct ConfigFile: Decodable, Sendable {
    public struct Server: Decodable, Sendable {
        public var host: String?
        public var port: Int?
        public var metricsHost: String?
        public var metricsPort: Int?
        public var maxBodyBytes: Int?
        public var apiKey: String?
        public var apiKeyFile: String?
        public var role: String?
        /// The edge limits in the same section: `idle_timeout`, `max_connections`, …
        public var edge: EdgeSettings

        enum CodingKeys: String, CodingKey {
            case host, port, role
            case metricsHost = "metrics_host"
            case metricsPort = "metrics_port"
            case maxBodyBytes = "max_body_bytes"
            case apiKey = "api_key"
            case apiKeyFile = "api_key_file"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            host = try container.decodeIfPresent(String.self, forKey: .host)
            port = try container.decodeIfPresent(Int.self, forKey: .port)
            metricsHost = try container.decodeIfPresent(String.self, forKey: .metricsHost)
            metricsPort = try container.decodeIfPresent(Int.self, forKey: .metricsPort)
            maxBodyBytes = try container.decodeIfPresent(Int.self, forKey: .maxBodyBytes)
            apiKey = try container.decodeIfPresent(String.self, forKey: .apiKey)
            apiKeyFile = try container.decodeIfPresent(String.self, forKey: .apiKeyFile)
            role = try container.decodeIfPresent(String.self, forKey: .role)
            edge = try EdgeSettings(from: decoder)
        }
    }

    public struct Storage: Decodable, Sendable {
        public var dataDir: String?
        public var maxSizeBytes: Int?
        public var engine: String?
        public var postgresURL: String?
        public var leaseDuration: String?
        public var retention: String?

        enum CodingKeys: String, CodingKey {
            case engine, retention
            case dataDir = "data_dir"
            case maxSizeBytes = "max_size_bytes"
            case postgresURL = "postgres_url"
            case leaseDuration = "lease_duration"
        }
    }

    public struct GroupCommit: Decodable, Sendable {
        public var maxPendingEvents: Int?
        public var maxPendingBytes: Int?
        public var maxBatchEvents: Int?
        public var maxBatchBytes: Int?
        public var maxDelayMs: Int?

        enum CodingKeys: String, CodingKey {
            case maxPendingEvents = "max_pending_events"
            case maxPendingBytes = "max_pending_bytes"
            case maxBatchEvents = "max_batch_events"
            case maxBatchBytes = "max_batch_bytes"
            case maxDelayMs = "max_delay_ms"
        }
    }

    public struct Stream: Decodable, Sendable {
        public var key: String?
        public var time: String?
        public var fields: [String: Field]
    }

    public struct Field: Decodable, Sendable {
        public var type: String
        public var required: Bool?
        public var maxBytes: Int?
        public var min: Int64?
        public var max: Int64?
        public var values: [String]?

        enum CodingKeys: String, CodingKey {
            case type, required, min, max, values
            case maxBytes = "max_bytes"
        }
    }

    public struct Processors: Decodable, Sendable {
        public var uniqueUsers: UniqueUsers?
        public var accounts: Accounts?
        public var logStore: LogStore?

        enum CodingKeys: String, CodingKey {
            case accounts
            case uniqueUsers = "unique_users"
            case logStore = "log_store"
        }
    }

    public struct UniqueUsers: Decodable, Sendable {
        public var windows: [String]?
        public var allowedLateness: String?
        public var resultsURL: String?

        enum CodingKeys: String, CodingKey {
            case windows
            case allowedLateness = "allowed_lateness"
            case resultsURL = "results_url"
        }
    }

    public struct Accounts: Decodable, Sendable {
        public var callbackURL: String?

        enum CodingKeys: String, CodingKey {
            case callbackURL = "callback_url"
        }
    }

    public struct LogStore: Decodable, Sendable {
        public var batchSize: Int?
        public var flushInterval: String?

        enum CodingKeys: String, CodingKey {
            case batchSize = "batch_size"
            case flushInterval = "flush_interval"
        }
    }

    public var server: Server?
    public var storage: Storage?
    public var groupCommit: GroupCommit?
    public var processors: Processors?
    public var streams: [String: Stream]?

    enum CodingKeys: String, CodingKey {
        case server, storage, streams, processors
        case groupCommit = "group_commit"
    }

    /// Reads and validates a config file; errors name the file and the offending key.
    public static func load(path: String) throws -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read config file \(path)")
        }
        do {
            let decoder = YAMLDecoder()
            return try decoder.decode(ConfigFile.self, from: data, userInfo: [:])
        } catch let error as DecodingError {
            throw ConfigError("config file \(path): \(error.readableDescription)")
        }
    }

    /// Applies the file's settings onto `configuration`.
    public func apply(to configuration: inout ServerConfiguration) throws {
        if let server {
            configuration.host = server.host ?? configuration.host
            if let port = server.port { configuration.port = try ServerConfiguration.checkedPort(port, setting: "server.port") }
            if let port = server.metricsPort { configuration.metricsPort = try ServerConfiguration.checkedPort(port, setting: "server.metrics_port") }
            configuration.metricsHost = server.metricsHost ?? configuration.metricsHost
            if let maxBodyBytes = server.maxBodyBytes {
                guard maxBodyBytes > 0 else { throw ConfigError("server.max_body_bytes must be positive") }
                configuration.maxBodyBytes = maxBodyBytes
            }
            if let apiKey = server.apiKey { configuration.apiKey = try APIKeySource.key(apiKey, from: "server.api_key") }
            if let file = server.apiKeyFile { configuration.apiKey = try APIKeySource.key(fromFile: file, setting: "server.api_key_file") }
            if let role = server.role { configuration.role = try StorageSettings.role(role, key: "server.role") }
            try server.edge.apply(to: &configuration, naming: \.configKey)
        }
        if let storage {
            configuration.dataDirectory = storage.dataDir ?? configuration.dataDirectory
            configuration.maxDatabaseBytes = storage.maxSizeBytes ?? configuration.maxDatabaseBytes
            try StorageSettings(
                engine: storage.engine, postgresURL: storage.postgresURL, leaseDuration: storage.leaseDuration, retention: storage.retention, keyPrefix: "storage.")
                .apply(to: &configuration)
        }
        if let groupCommit {
            var limits = configuration.groupCommit
            limits.maxPendingEvents = groupCommit.maxPendingEvents ?? limits.maxPendingEvents
            limits.maxPendingBytes = groupCommit.maxPendingBytes ?? limits.maxPendingBytes
            limits.maxBatchEvents = groupCommit.maxBatchEvents ?? limits.maxBatchEvents
            limits.maxBatchBytes = groupCommit.maxBatchBytes ?? limits.maxBatchBytes
            configuration.groupCommit = limits
            if let delay = groupCommit.maxDelayMs { configuration.maxCommitDelay = .milliseconds(delay) }
        }
        if let processors { try processors.apply(to: &configuration) }
        for (name, stream) in (streams ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard StreamSchema.isValidName(name) else {
                throw ConfigError("stream name '\(name)' is invalid: use 1-48 characters of a-z, 0-9 and _, starting with a letter")
            }
            guard !configuration.streams.contains(where: { $0.name == name }) else {
                throw ConfigError("stream '\(name)' is already defined")
            }
            let fields = try stream.fields.sorted(by: { $0.key < $1.key }).map { fieldName, field in
                FieldRule(fieldName, try field.fieldType(stream: name, field: fieldName), required: field.required ?? true)
            }
            for reference in [stream.key, stream.time].compactMap({ $0 }) where !stream.fields.keys.contains(reference) {
                throw ConfigError("stream '\(name)' names '\(reference)' as key or time, but has no such field")
            }
            configuration.streams.append(StreamSchema(name: name, fields: fields, keyField: stream.key, timeField: stream.time))
        }
    }
}

extension ConfigFile.Processors {
    func apply(to configuration: inout ServerConfiguration) throws {
        let settings = ProcessorSettings(
            windows: uniqueUsers?.windows, allowedLateness: uniqueUsers?.allowedLateness, resultsURL: uniqueUsers?.resultsURL,
            callbackURL: accounts?.callbackURL, logBatchSize: logStore?.batchSize, logFlushInterval: logStore?.flushInterval)
        try settings.apply(to: &configuration) { setting in
            switch setting {
            case .windows: "processors.unique_users.windows"
            case .allowedLateness: "processors.unique_users.allowed_lateness"
            case .logBatchSize: "processors.log_store.batch_size"
            case .logFlushInterval: "processors.log_store.flush_interval"
            }
        }
    }
}

extension ConfigFile.Field {
    func fieldType(stream: String, field: String) throws -> FieldType {
        switch type {
        case "string": return .string(maxBytes: maxBytes ?? 1024)
        case "integer":
            let (low, high) = (min ?? Int64.min, max ?? Int64.max)
            guard low <= high else { throw ConfigError("stream '\(stream)' field '\(field)': min \(low) is above max \(high)") }
            return .integer(low...high)
        case "unix_time": return .unixTime
        case "timestamp": return .timestamp
        case "domain": return .domainName
        case "any": return .any
        case "enum":
            guard let values, !values.isEmpty else { throw ConfigError("stream '\(stream)' field '\(field)': type enum needs 'values'") }
            return .oneOf(values)
        default:
            throw ConfigError(
                "stream '\(stream)' field '\(field)': unknown type '\(type)' (use string, integer, unix_time, timestamp, domain, enum or any)")
        }
    }
}

/// A problem with the configuration, said so that the user can fix it.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension DecodingError {
    var readableDescription: String {
        func path(_ context: Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' at '\(path(context))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "'\(path(context))': \(context.debugDescription)"
        @unknown default: return String(describing: self)
        }
    }
}
