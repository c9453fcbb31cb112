import Foundation

/// The outcome of one acceptance check, with the evidence that decided it.
public struct CheckResult: Sendable {
    public var name: String
    public var passed: Bool
    public var evidence: String

    public init(name: String, passed: Bool, evidence: String) {
        self.name = name
        self.passed = passed
        self.evidence = evidence
    }
}

/// Collects check results, prints each as it is decided, and the verdict at the end.
public struct CheckReport: Sendable {
    public private(set) var results: [CheckResult] = []

    public init() {}

    public var passed: Bool { !results.isEmpty && results.allSatisfy(\.passed) }

    /// Runs `check`, turning a thrown error into a failure that says what went wrong.
    public mutating func check(_ name: String, _ check: () async throws -> (Bool, String)) async {
        let result: CheckResult
        do {
            let (passed, evidence) = try await check()
            result = CheckResult(name: name, passed: passed, evidence: evidence)
        } catch {
            result = CheckResult(name: name, passed: false, evidence: "error: \(error)")
        }
        results.append(result)
        print("\(result.passed ? "PASS" : "FAIL")  \(result.name) — \(result.evidence)")
    }

    /// A table of every check and the overall verdict.
    public var summary: String {
        let width = max(5, results.map(\.name.count).max() ?? 0)
        var lines = ["", "check".padding(toLength: width, withPad: " ", startingAt: 0) + "  result"]
        for result in results {
            lines.append(result.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (result.passed ? "PASS" : "FAIL"))
        }
        let failed = results.filter { !$0.passed }.count
        lines.append("")
        lines.append(passed ? "VERDICT: PASS (\(results.count) checks)" : "VERDICT: FAIL (\(failed) of \(results.count) checks failed)")
        return lines.joined(separator: "\n")
    }
}

/// Exit codes shared by the acceptance binaries.
public enum AcceptanceExitCode {
    public static let passed: Int32 = 0
    public static let failed: Int32 = 1
    public static let couldNotRun: Int32 = 2
}
