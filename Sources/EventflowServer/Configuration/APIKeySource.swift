public import Foundation

/// Reads the API key from where the user put it: a flag, the config file, a file of its
/// own, or `EVENTFLOW_API_KEY`.
public enum APIKeySource {
    /// A key given as text; an empty one is an error rather than "no key".
    public static func key(_ text: String, from setting: String) throws(ConfigError) -> String {
        guard !text.isEmpty else { throw ConfigError("\(setting) is empty: give the key, or leave the setting out to run without one") }
        return text
    }

    /// The key in a file (as Kubernetes and systemd credentials hand it over): its content
    /// without the trailing newline.
    public static func key(fromFile path: String, setting: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(setting): cannot read '\(path)'")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return try key(text, from: "\(setting) '\(path)'")
    }

    /// `EVENTFLOW_API_KEY` when it is set and not empty: an empty variable (`EVENTFLOW_API_KEY=`
    /// in a unit file) never silently disables a key given elsewhere.
    public static func environmentKey(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        environment["EVENTFLOW_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
