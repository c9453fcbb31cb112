import Foundation
import Testing

@testable import AcceptanceKit

/// A skip is reported as a skip, and fails the run under --require-all.
@Suite struct BehaviourVerdictTests {
    let outcomes: [BehaviourVerdict.Outcome] = [
        .init(name: "malformed-input", result: .passed, evidence: ["41 kinds refused"], seconds: 1),
        .init(name: "crash", result: .skipped(reason: "needs --spawn"), evidence: ["needs --spawn"], seconds: 0),
        .init(name: "disk-full", result: .skipped(reason: "needs root"), evidence: ["needs root"], seconds: 0),
    ]

    @Test func skipsAreCountedApartWithTheirReasons() throws {
        let verdict = BehaviourVerdict(outcomes: outcomes, requireAll: false)
        #expect(verdict.passed)
        #expect(verdict.line == "PASS (1 passed; 2 skipped: crash — needs --spawn, disk-full — needs root)")
        let summary = verdict.summary
        #expect(summary["verdict"] as? String == "PASS" && summary["passed"] as? Int == 1 && summary["failed"] as? Int == 0)
        let skipped = try #require(summary["skipped"] as? [[String: String]])
        #expect(skipped == [["name": "crash", "reason": "needs --spawn"], ["name": "disk-full", "reason": "needs root"]])
        let scenarios = try #require(summary["scenarios"] as? [[String: Any]])
        #expect(scenarios.map { $0["result"] as? String } == ["PASS", "SKIP", "SKIP"])
        #expect(scenarios[2]["skip_reason"] as? String == "needs root")
        let xml = ResultsWriter.junit(suite: "behaviour-test", cases: verdict.junitCases, seconds: 1)
        #expect(xml.contains(#"tests="3" failures="0" skipped="2""#))
        #expect(xml.contains(#"name="crash"><skipped message="needs --spawn"/></testcase>"#))
    }

    @Test func underRequireAllASkipFailsTheRun() {
        let verdict = BehaviourVerdict(outcomes: outcomes, requireAll: true)
        #expect(!verdict.passed)
        #expect(verdict.line == "FAIL (1 passed; 2 skipped under --require-all: crash — needs --spawn, disk-full — needs root)")
        #expect(verdict.summary["verdict"] as? String == "FAIL")
        let xml = ResultsWriter.junit(suite: "behaviour-test", cases: verdict.junitCases, seconds: 1)
        #expect(xml.contains(#"tests="3" failures="2" skipped="0""#))
        #expect(xml.contains(#"<failure message="skipped under --require-all: needs root"/>"#))
    }

    @Test func aFailureIsNamedFirst() {
        let failing = outcomes + [.init(name: "ordering-window", result: .failed, evidence: ["3 events out of their window"], seconds: 2)]
        let verdict = BehaviourVerdict(outcomes: failing, requireAll: false)
        #expect(!verdict.passed)
        #expect(verdict.line.hasPrefix("FAIL (1 failed: ordering-window; 1 passed; 2 skipped: "))
        #expect(verdict.junitCases.last == JUnitCase(name: "ordering-window", outcome: .failed("3 events out of their window")))
    }
}
