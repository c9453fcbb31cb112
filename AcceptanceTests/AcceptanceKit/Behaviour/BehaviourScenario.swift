public import Foundation

/// What a scenario found, with the evidence that decided it; or why it could not run here.
public struct ScenarioResult: Sendable {
    public var passed: Bool
    public var evidence: [String]
    /// Set when the scenario did not run (e.g. it needs root): reported as a skip, never as a pass.
    public var skipReason: String?

    public init(passed: Bool, evidence: [String]) {
        self.passed = passed
        self.evidence = evidence
    }

    public static func skipped(_ reason: String) -> ScenarioResult {
        var result = ScenarioResult(passed: false, evidence: [reason])
        result.skipReason = reason
        return result
    }
}

/// Where a scenario runs: a system it may start itself (`--spawn`), or one given by URL.
public struct ScenarioContext: Sendable {
    /// Set with `--spawn`: scenarios start their own fresh system with the flags they need.
    public var binary: URL?
    public var systemURL: String?
    public var targetURL: String?
    /// A PostgreSQL server for scenarios that share one database between processes; each creates its own database there.
    public var postgresURL: String?
    /// How scenarios kill and restart a system given by URL.
    public var hooks: FaultHooks?
    /// The admin key of a reference target given by URL, when it has one.
    public var targetAdminKey: String?
    /// Names this run's data (ids, accounts, domains, services, event times), so that runs
    /// against one long-lived system, and the traffic already there, do not mix.
    public let run: RunIdentity

    public init(
        binary: URL?, systemURL: String?, targetURL: String?, postgresURL: String? = nil, hooks: FaultHooks? = nil, targetAdminKey: String? = nil,
        run: RunIdentity = RunIdentity()
    ) {
        self.targetAdminKey = targetAdminKey
        self.binary = binary
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.postgresURL = postgresURL
        self.hooks = hooks
        self.run = run
    }

    /// Why `scenario` cannot run in this context (the flag it needs), or nil when it can.
    public func unmetNeed(of scenario: any BehaviourScenario) -> String? {
        if let reason = scenario.spawnReason, binary == nil { return "needs --spawn (\(reason))" }
        if scenario.needsRestart, binary == nil, hooks == nil { return "needs --spawn, or --kill-command and --restart-command" }
        if scenario.needsPostgres, postgresURL == nil { return "needs --postgres-url" }
        return nil
    }

    /// A fresh system for the scenario (spawned) or the given one; `body` runs against it and it is stopped after.
    func withSystem<T>(
        targetArguments: [String] = [], serveArguments: [String] = [], dataDirectory: String? = nil, _ body: (SystemUnderTest) async throws -> T
    ) async throws -> T {
        let system: SystemUnderTest
        if let binary {
            system = try await SystemUnderTest.spawn(
                binary: binary, targetArguments: targetArguments, serveArguments: serveArguments, dataDirectory: dataDirectory)
        } else if let systemURL, let targetURL {
            system = SystemUnderTest(systemURL: systemURL, targetURL: targetURL, hooks: hooks, targetAdminKey: targetAdminKey)
        } else {
            throw SpawnError("needs --spawn, or --url and --target-url")
        }
        do {
            let result = try await body(system)
            await system.stop()
            return result
        } catch {
            await system.stop()
            throw error
        }
    }
}

/// A named behaviour the system must show.
public protocol BehaviourScenario: Sendable {
    var name: String { get }
    var summary: String { get }
    /// Why the scenario must start the system itself (`--spawn`): flags, a filesystem or a
    /// cluster of its own; nil when it runs against any system.
    var spawnReason: String? { get }
    /// Scenarios that kill and restart the server need `--spawn` or the fault hooks.
    var needsRestart: Bool { get }
    /// Scenarios that run several processes on one PostgreSQL need `--postgres-url`.
    var needsPostgres: Bool { get }
    func run(_ context: ScenarioContext) async throws -> ScenarioResult
}

extension BehaviourScenario {
    public var spawnReason: String? { nil }
    public var needsRestart: Bool { false }
    public var needsPostgres: Bool { false }
}

/// Every scenario of `behaviour-test`, in the order they run.
public enum BehaviourScenarios {
    public static let all: [any BehaviourScenario] = [
        MalformedInputScenario(), HostileInputScenario(), HostilePeerScenario(), SlowClientsScenario(), DiskFullScenario(), BackPressureScenario(), CrashScenario(), CrashLoopScenario(), TargetOutageScenario(), ErrorBurstScenario(),
        RateLimitScenario(), DuplicateSendsScenario(), OrderingWindowScenario(), UniqueUsersScenario(), AccountsScenario(),
        DomainsScenario(), LogStoreScenario(), ScaleOutScenario(),
    ]
}
