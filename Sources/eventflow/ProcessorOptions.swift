import ArgumentParser
import EventflowServer

/// The flags of the `unique-users`, `accounts`, `domains` and `log-store` processors.
/// Each is optional: unset, the config file's value or the default applies.
struct ProcessorOptions: ParsableArguments {
    @Option(name: .customLong("windows"), help: "unique-users window sizes, comma-separated, e.g. 1m,1h,1d (default: 1m).")
    var windows: String?

    @Option(name: .customLong("allowed-lateness"), help: "How far behind the newest frame a frame still counts, e.g. 5s (default: 5s).")
    var allowedLateness: String?

    @Option(name: .customLong("results-url"), help: "POST unique-users results there as they are emitted (default: none).")
    var resultsURL: String?

    @Option(name: .customLong("callback-url"), help: "Where account callbacks are POSTed (default: \(AccountsConfiguration.defaultCallbackURL)).")
    var callbackURL: String?

    @Option(name: .customLong("log-batch-size"), help: "log-store: lines per flush at most (default: 5000).")
    var logBatchSize: Int?

    @Option(name: .customLong("log-flush-interval"), help: "log-store: longest wait before a flush, e.g. 1s or 200ms (default: 1s).")
    var logFlushInterval: String?

    func apply(to configuration: inout ServerConfiguration) throws {
        let settings = ProcessorSettings(
            windows: windows.map { $0.split(separator: ",").map(String.init) }, allowedLateness: allowedLateness, resultsURL: resultsURL,
            callbackURL: callbackURL, logBatchSize: logBatchSize, logFlushInterval: logFlushInterval)
        do {
            try settings.apply(to: &configuration) { setting in
                switch setting {
                case .windows: "--windows"
                case .allowedLateness: "--allowed-lateness"
                case .logBatchSize: "--log-batch-size"
                case .logFlushInterval: "--log-flush-interval"
                }
            }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
