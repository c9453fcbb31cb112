import EventflowTesting
import Foundation
import Testing

@testable import AcceptanceKit

/// A threshold marked report-only is still checked and shown as failed, but does not fail the run.
@Suite struct ReportOnlyThresholdTests {
    let latency = ThresholdResult(figure: "ingest_p99_ms", rule: "< 50", value: 78.5, passed: false, reportOnly: true)
    let loss = ThresholdResult(figure: "lost", rule: "== 0", value: 0, passed: true, reportOnly: false)

    @Test func aFailedReportOnlyThresholdHoldsButSaysItFailed() {
        #expect(latency.holds)
        #expect(latency.resultText == "FAIL (report only)")
        let counted = ThresholdResult(figure: "lost", rule: "== 0", value: 3, passed: false, reportOnly: false)
        #expect(!counted.holds)
        #expect(counted.resultText == "FAIL")
    }

    @Test func junitCountsOnlyCountedFailuresAndKeepsTheReportOnlyMessage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("eventflow-junit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let counted = ThresholdResult(figure: "unexpected", rule: "== 0", value: 2, passed: false, reportOnly: false)
        try ResultsWriter.writeJUnit(suite: "performance-test.5x-peak", cases: [latency, loss, counted].map(\.junitCase), seconds: 1, to: directory)
        let xml = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        #expect(xml.contains(#"tests="3" failures="1" skipped="0""#))
        #expect(xml.contains("<system-out>report only, not part of the verdict: ingest_p99_ms = 78.5, expected &lt; 50</system-out>"))
        #expect(xml.contains(#"<failure message="unexpected = 2.0, expected == 0"/>"#))
    }
}
