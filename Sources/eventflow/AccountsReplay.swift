import ArgumentParser
import AsyncHTTPClient
import EventflowCore
import EventflowServer
import EventflowTarget
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `eventflow accounts`: tools for the `accounts` workload.
struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tools for the accounts workload.",
        subcommands: [AccountsReplay.self]
    )
}

/// `eventflow accounts replay FILE`: the original account-updates challenge, end to end.
struct AccountsReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a JSON array of account updates through a temporary Eventflow and print what happens.",
        discussion: """
            Starts Eventflow (and, unless --callback-url is given, a reference target for the callbacks) on free \
            loopback ports with a temporary data directory. Each record is ingested over HTTP after a uniform random \
            delay of 0-1000 ms (divided by --speed, as are the callback times). Prints a line per indexed (id, version), \
            per ignored stale version, per rejected record, per callback cancelled and fired; once every record is \
            processed and no callback is pending, prints the account with the most tokens per accountType and exits 0.
            """
    )

    @Argument(help: "A JSON array of account updates ({id, accountType, tokens, callbackTimeMs, data, version}).")
    var file: String

    @Option(help: "Compress time: delays and callback times are divided by this.")
    var speed = 1.0

    @Option(help: "Seed of the random delays (default: a random seed, printed).")
    var seed: UInt64?

    @Option(name: .customLong("callback-url"), help: "Send callbacks there instead of to a reference target started for the replay.")
    var callbackURL: String?

    @Option(name: .customLong("log-level"), help: "How much the servers log (to stderr).")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard speed > 0 else { throw ValidationError("--speed must be positive") }
    }

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let logger = Logger(label: "eventflow-replay")
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw ValidationError("\(file) is not a JSON array of account updates")
        }
        let records = try array.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let seed = seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("replaying \(records.count) records from \(file) at speed \(speed), seed \(seed)")

        let progress = ReplayProgress()
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("eventflow-replay-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        let target = callbackURL == nil ? try await ServiceRunner.start(logger: logger) { ready in
            TargetApplication.build(configuration: TargetConfiguration(port: 0), logger: logger, onServerRunning: ready)
        } : nil
        var configuration = ServerConfiguration(port: 0, dataDirectory: dataDirectory, delivery: nil)
        configuration.uniqueUsers = nil
        configuration.logStore = nil
        configuration.domains = false
        configuration.processorCommitInterval = 0.01
        configuration.accounts = AccountsConfiguration(
            callbackURL: callbackURL ?? "http://127.0.0.1:\(target?.port ?? 0)/callbacks", callbackDelayScale: 1 / speed,
            observer: { progress.observe($0) })
        let serverConfiguration = configuration
        let server = try await ServiceRunner.start(logger: logger) { ready in
            try await EventflowApplication.build(configuration: serverConfiguration, logger: logger, onServerRunning: ready)
        }

        let accepted = await ingest(records, port: server.port, seed: seed)
        let deadline = ContinuousClock.now + .seconds(60 + Double(Self.longestCallbackMs(array)) / 1000 / speed)
        while !progress.isSettled(accepted: accepted) {
            guard ContinuousClock.now < deadline else {
                throw ValidationError("gave up waiting: \(progress.summary(accepted: accepted)); is the callback URL answering?")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await printTop(port: server.port)
        await server.stop()
        await target?.stop()
    }

    /// Sends every record at its random time; returns how many were accepted.
    private func ingest(_ records: [String], port: Int, seed: UInt64) async -> Int {
        var random = SplitMix64(seed: seed)
        let delays = records.map { _ in Double(random.next() % 1001) / speed }
        let started = ContinuousClock.now
        return await withTaskGroup(of: Bool.self) { group in
            for (index, record) in records.enumerated() {
                group.addTask {
                    try? await Task.sleep(until: started + .milliseconds(delays[index]))
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/streams/accounts/events")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: record))
                    do {
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        let body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                        guard response.status.code == 202 else {
                            let reason = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? String ?? body
                            print("rejected   record \(index): \(response.status.code) \(reason)")
                            return false
                        }
                        return true
                    } catch {
                        print("failed     record \(index): \(error)")
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    private func printTop(port: Int) async throws {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/accounts/top"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let top = (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["top"] as? [[String: Any]] ?? []
        print("highest-token account per accountType:")
        for entry in top {
            print("top        accountType=\(entry["accountType"] ?? "") id=\(entry["id"] ?? "") tokens=\(entry["tokens"] ?? "") version=\(entry["version"] ?? "")")
        }
    }

    private static func longestCallbackMs(_ records: [Any]) -> Int {
        records.compactMap { ($0 as? [String: Any])?["callbackTimeMs"] as? Int }.max() ?? 0
    }
}

/// What the replay has seen the processor do, printed as it happens.
final class ReplayProgress: Sendable {
    private struct State {
        var decided = 0
        var pendingCallbacks: Set<String> = []
    }

    private let state = Mutex(State())

    func observe(_ observation: AccountsObservation) {
        state.withLock { state in
            switch observation {
            case .indexed(let id, let version):
                state.decided += 1
                state.pendingCallbacks.insert("\(id):\(version)")
                print("indexed    id=\(id) version=\(version)")
            case .ignoredStale(let id, let version, let current):
                state.decided += 1
                print("ignored    id=\(id) version=\(version) (already at version \(current))")
            case .callbackCancelled(let id, let version, let newer):
                state.pendingCallbacks.remove("\(id):\(version)")
                print("cancelled  callback id=\(id) version=\(version) (replaced by version \(newer))")
            case .callbackFired(let id, let version):
                state.pendingCallbacks.remove("\(id):\(version)")
                print("fired      callback id=\(id) version=\(version)")
            case .callbackFailed(let id, let version):
                state.pendingCallbacks.remove("\(id):\(version)")
                print("failed     callback id=\(id) version=\(version) (rejected by the callback URL)")
            }
        }
    }

    func isSettled(accepted: Int) -> Bool {
        state.withLock { $0.decided == accepted && $0.pendingCallbacks.isEmpty }
    }

    func summary(accepted: Int) -> String {
        state.withLock { "\($0.decided) of \(accepted) records processed, \($0.pendingCallbacks.count) callbacks pending" }
    }
}

/// An application run in its own service group, stopped on demand.
struct ServiceRunner: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Builds and starts the application; returns once it listens.
    static func start<App: ApplicationProtocol>(
        logger: Logger, _ build: (@escaping @Sendable (Int) async -> Void) async throws -> App
    ) async throws -> ServiceRunner {
        let (ports, ready) = AsyncStream.makeStream(of: Int.self)
        let app = try await build { ready.yield($0) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ValidationError("the server did not start") }
        return ServiceRunner(port: port, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
