import Foundation
public import Logging
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL, as libpq and most tools
/// write it, turned into postgres-nio's configurations.
///
/// Its password shows only in `text` (handed to another process): printing a URL, a value
/// holding one, or a parse error shows it redacted.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    /// `disable` (the default: loopback and trusted networks) or `require`.
    public var requiresTLS: Bool

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String? = nil, requiresTLS: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.requiresTLS = requiresTLS
    }

    /// Parses `text`; the error says which part is wrong.
    public init(_ text: String) throws(PostgresURLError) {
        let shown = Self.redacting(text)
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresURLError("expected postgres://user:password@host:port/database, got '\(shown)'")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("the URL has no host: '\(shown)'") }
        guard let username = components.user, !username.isEmpty else { throw PostgresURLError("the URL has no user name: '\(shown)'") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw PostgresURLError("the URL's port must be 1 to 65535: '\(shown)'") }
        self.host = host
        self.port = port
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        switch sslMode {
        case "disable": requiresTLS = false
        case "require": requiresTLS = true
        default: throw PostgresURLError("sslmode '\(sslMode)' is not supported; use disable or require")
        }
    }

    /// The whole URL, password included: to hand to another process.
    public var text: String {
        let allowed = CharacterSet.urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/"))
        let encode = { (part: String) in part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part }
        return formatted(user: encode(username) + (password.map { ":" + encode($0) } ?? ""))
    }

    /// The URL without its password, for logs.
    public var redacted: String { formatted(user: username) }

    public var description: String { redacted }
    public var debugDescription: String { redacted }

    /// `text` with whatever lies between the user's `:` and the last `@` before the path
    /// replaced by `***`, for errors about a URL that did not parse.
    static func redacting(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let authorityEnd = text[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? text.endIndex
        let authority = text[scheme.upperBound..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }

    private func formatted(user: String) -> String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")\(requiresTLS ? "?sslmode=require" : "")"
    }

    /// Bounds on every Eventflow session, set when it starts, so that a foreign session
    /// holding a lock, a statement that never ends or a transaction left open costs a 503
    /// within seconds instead of hung collectors: a statement may run 30 s, wait 5 s for a
    /// lock, and a transaction may idle 60 s.
    static let sessionLimits = [("statement_timeout", "30s"), ("lock_timeout", "5s"), ("idle_in_transaction_session_timeout", "60s")]

    func clientConfiguration(maxConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requiresTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 1
        configuration.options.additionalStartupParameters = Self.sessionLimits
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requiresTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        configuration.options.additionalStartupParameters = Self.sessionLimits
        return configuration
    }
}

/// A PostgreSQL URL that cannot be used, and why.
public struct PostgresURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension PostgresURL {
    /// Creates an empty database next to this URL's and returns the URL of the new one:
    /// for tests and throwaway runs that must not share state.
    public func creatingDatabase(named name: String, logger: Logger) async throws -> PostgresURL {
        precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "database names here are plain identifiers")
        let connection = try await PostgresConnection.connect(configuration: connectionConfiguration(), id: 0, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        var url = self
        url.database = name
        return url
    }
}
