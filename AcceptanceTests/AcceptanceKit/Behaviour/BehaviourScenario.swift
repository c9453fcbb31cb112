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

    public init(binary: URL?, systemURL: String?, targetURL: String?, postgresURL: String? = nil) {
        self.binary = binary
        self.systemURL = systemURL
        self.targetURL = targetURL
        self.postgresURL = postgresURL
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
            system = SystemUnderTest(systemURL: systemURL, targetURL: targetURL)
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
    /// Scenarios that kill or reconfigure the system need `--spawn`.
    var needsSpawn: Bool { get }
    /// Scenarios that run several processes on one PostgreSQL need `--postgres-url`.
    var needsPostgres: Bool { get }
    func run(_ context: ScenarioContext) async throws -> ScenarioResult
}

extension BehaviourScenario {
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
