import ArgumentParser

/// The `eventflow` command: the server and its tools.
@main
struct Eventflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventflow",
        abstract: "An event pipeline that answers 202 only once events are durably committed.",
        subcommands: [Serve.self, Target.self, DeadLetters.self, Accounts.self]
    )
}
