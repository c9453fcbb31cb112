/// The verdict of a behaviour run: what passed, what failed and what was skipped, each skip
/// with its reason. A skip is never counted as a pass; with `requireAll` (`--require-all`,
/// the default of `make acceptance`) a skip fails the run, since a release gate must not
/// pass on what it never checked.
public struct BehaviourVerdict: Sendable {
    /// How one scenario ended.
    public enum Result: Sendable, Equatable {
        case passed
        case failed
        case skipped(reason: String)

        /// `PASS`, `FAIL` or `SKIP`, as printed and written to `summary.json`.
        public var label: String {
            switch self {
            case .passed: "PASS"
            case .failed: "FAIL"
            case .skipped: "SKIP"
            }
        }
    }

    public struct Outcome: Sendable {
        public var name: String
        public var result: Result
        public var evidence: [String]
        public var seconds: Double

        public init(name: String, result: Result, evidence: [String], seconds: Double) {
            self.name = name
            self.result = result
            self.evidence = evidence
            self.seconds = seconds
        }
    }

    public var outcomes: [Outcome]
    public var requireAll: Bool

    public init(outcomes: [Outcome], requireAll: Bool) {
        self.outcomes = outcomes
        self.requireAll = requireAll
    }

    public var passedNames: [String] { outcomes.filter { $0.result == .passed }.map(\.name) }
    public var failedNames: [String] { outcomes.filter { $0.result == .failed }.map(\.name) }
    /// The skipped scenarios, each with its reason.
    public var skips: [(name: String, reason: String)] {
        outcomes.compactMap { outcome in
            if case .skipped(let reason) = outcome.result { (outcome.name, reason) } else { nil }
        }
    }

    public var passed: Bool { failedNames.isEmpty && (!requireAll || skips.isEmpty) }

    /// `PASS (16 passed; 2 skipped: disk-full — needs root, …)`, or
    /// `FAIL (1 failed: crash; 15 passed; …)`; under `requireAll` the skips say so.
    public var line: String {
        var parts: [String] = []
        if !failedNames.isEmpty { parts.append("\(failedNames.count) failed: \(failedNames.joined(separator: ", "))") }
        parts.append("\(passedNames.count) passed")
        if !skips.isEmpty {
            parts.append(
                "\(skips.count) skipped\(requireAll ? " under --require-all" : ""): " + skips.map { "\($0.name) — \($0.reason)" }.joined(separator: ", "))
        }
        return "\(passed ? "PASS" : "FAIL") (\(parts.joined(separator: "; ")))"
    }

    /// What `summary.json` holds: the verdict, the counts, each skip with its reason and every scenario.
    public var summary: [String: Any] {
        [
            "verdict": passed ? "PASS" : "FAIL", "require_all": requireAll,
            "passed": passedNames.count, "failed": failedNames.count,
            "skipped": skips.map { ["name": $0.name, "reason": $0.reason] },
            "scenarios": outcomes.map { outcome -> [String: Any] in
                var entry: [String: Any] = ["name": outcome.name, "result": outcome.result.label, "evidence": outcome.evidence, "seconds": outcome.seconds]
                if case .skipped(let reason) = outcome.result { entry["skip_reason"] = reason }
                return entry
            },
        ]
    }

    /// The cases of `junit.xml`: a skip is `<skipped>`, or a failure under `requireAll`.
    public var junitCases: [JUnitCase] {
        outcomes.map { outcome in
            switch outcome.result {
            case .passed: JUnitCase(name: outcome.name, outcome: .passed)
            case .failed: JUnitCase(name: outcome.name, outcome: .failed(outcome.evidence.joined(separator: "; ")))
            case .skipped(let reason):
                JUnitCase(name: outcome.name, outcome: requireAll ? .failed("skipped under --require-all: \(reason)") : .skipped(reason))
            }
        }
    }
}
