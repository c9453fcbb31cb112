public import Foundation

/// A figure checked against a profile threshold.
public struct ThresholdResult: Sendable {
    public var figure: String
    public var rule: String
    public var value: Double?
    public var passed: Bool
    /// Checked and reported, but not part of the verdict (`--report-only`): for
    /// benchmark figures on machines that cannot promise them, such as a shared CI runner.
    public var reportOnly: Bool

    /// Whether this threshold lets the verdict pass: it held, or it only reports.
    public var holds: Bool { passed || reportOnly }

    /// `PASS`, `FAIL`, or `FAIL (report only)`.
    public var resultText: String { passed ? "PASS" : reportOnly ? "FAIL (report only)" : "FAIL" }

    /// Its case in `junit.xml`.
    public var junitCase: JUnitCase {
        let message = "\(figure) = \(value.map { String($0) } ?? "not measured"), expected \(rule)"
        return JUnitCase(name: "\(figure) \(rule)", outcome: passed ? .passed : reportOnly ? .failedReportOnly(message) : .failed(message))
    }
}

/// A time series the suite measured itself (one point per second).
public struct MeasuredSeries: Sendable {
    public var name: String
    public var help: String
    public var points: [(timestampMs: Int64, value: Double)]
}

/// One case of a run's `junit.xml`.
public struct JUnitCase: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case passed
        case failed(String)
        /// Failed, but not part of the verdict (a report-only threshold).
        case failedReportOnly(String)
        /// Did not run, for the reason given.
        case skipped(String)
    }

    public var name: String
    public var outcome: Outcome

    public init(name: String, outcome: Outcome) {
        self.name = name
        self.outcome = outcome
    }
}

/// Writes a run's results folder: `metrics.prom`, `summary.json`, `junit.xml`.
public enum ResultsWriter {
    /// `results/<profile>-<UTC time>/` under `base`, created.
    public static func makeRunDirectory(base: String, profile: String, started: Date) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let path = URL(fileURLWithPath: base).appendingPathComponent("\(profile)-\(formatter.string(from: started))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func writeSummary(_ summary: [String: Any], to directory: String) throws {
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent("summary.json"))
    }

    /// One test case per threshold or scenario: a case that failed but only reports passes
    /// with its message in `system-out`; a skipped one is marked `<skipped>` with its reason,
    /// never counted as passed.
    public static func writeJUnit(suite: String, cases: [JUnitCase], seconds: Double, to directory: String) throws {
        try junit(suite: suite, cases: cases, seconds: seconds)
            .write(toFile: URL(fileURLWithPath: directory).appendingPathComponent("junit.xml").path, atomically: true, encoding: .utf8)
    }

    static func junit(suite: String, cases: [JUnitCase], seconds: Double) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        let failures = cases.filter { if case .failed = $0.outcome { true } else { false } }.count
        let skipped = cases.filter { if case .skipped = $0.outcome { true } else { false } }.count
        xml += #"<testsuite name="\#(escape(suite))" tests="\#(cases.count)" failures="\#(failures)" skipped="\#(skipped)" "#
        xml += #"time="\#(String(format: "%.3f", seconds))">"# + "\n"
        for testCase in cases {
            xml += #"  <testcase classname="\#(escape(suite))" name="\#(escape(testCase.name))">"#
            switch testCase.outcome {
            case .passed: break
            case .failed(let message): xml += #"<failure message="\#(escape(message))"/>"#
            case .failedReportOnly(let message): xml += "<system-out>report only, not part of the verdict: \(escape(message))</system-out>"
            case .skipped(let reason): xml += #"<skipped message="\#(escape(reason))"/>"#
            }
            xml += "</testcase>\n"
        }
        xml += "</testsuite>\n"
        return xml
    }

    /// Every scrape and every measured series as OpenMetrics text, which
    /// `promtool tsdb create-blocks-from openmetrics` imports as it is.
    public static func writeMetrics(scrapes: [Scrape], types: [String: String], measured: [MeasuredSeries], to directory: String) throws {
        try openMetrics(scrapes: scrapes, types: types, measured: measured)
            .write(toFile: URL(fileURLWithPath: directory).appendingPathComponent("metrics.prom").path, atomically: true, encoding: .utf8)
    }

    static func openMetrics(scrapes: [Scrape], types: [String: String], measured: [MeasuredSeries]) -> String {
        // family → labelset key → points (timestamp → samples in that point)
        struct Point {
            var timestampMs: Int64
            var samples: [(name: String, labels: [String: String], value: Double)]
        }
        var families: [String: (type: String, metrics: [String: [Point]])] = [:]
        for scrape in scrapes {
            for sample in scrape.samples {
                let (family, type) = familyOf(sample.name, types: types)
                var labels = sample.labels
                labels["job"] = scrape.job
                var identity = labels
                identity["le"] = nil
                let key = renderLabels(identity)
                var entry = families[family] ?? (type, [:])
                var points = entry.metrics[key] ?? []
                if points.last?.timestampMs == scrape.timestampMs {
                    points[points.count - 1].samples.append((sample.name, labels, sample.value))
                } else {
                    points.append(Point(timestampMs: scrape.timestampMs, samples: [(sample.name, labels, sample.value)]))
                }
                entry.metrics[key] = points
                families[family] = entry
            }
        }
        var text = ""
        for (family, entry) in families.sorted(by: { $0.key < $1.key }) {
            text += "# TYPE \(family) \(entry.type)\n"
            for (_, points) in entry.metrics.sorted(by: { $0.key < $1.key }) {
                for point in points {
                    for sample in orderedForOpenMetrics(point.samples, family: family) {
                        text += "\(sample.name)\(renderLabels(sample.labels)) \(format(sample.value)) \(seconds(point.timestampMs))\n"
                    }
                }
            }
        }
        for series in measured where !series.points.isEmpty {
            text += "# TYPE \(series.name) gauge\n# HELP \(series.name) \(series.help)\n"
            for point in series.points {
                text += "\(series.name){job=\"loadgen\"} \(format(point.value)) \(seconds(point.timestampMs))\n"
            }
        }
        return text + "# EOF\n"
    }

    /// The family a sample belongs to and the family's type, OpenMetrics style (counters without `_total`).
    static func familyOf(_ name: String, types: [String: String]) -> (String, String) {
        if let type = types[name] {
            return type == "counter" && name.hasSuffix("_total") ? (String(name.dropLast(6)), type) : (name, type)
        }
        for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base] { return (base, type) }
        }
        return (name, "unknown")
    }

    /// Histogram points: buckets by increasing `le`, then count and sum.
    static func orderedForOpenMetrics(_ samples: [(name: String, labels: [String: String], value: Double)], family: String)
        -> [(name: String, labels: [String: String], value: Double)]
    {
        func rank(_ sample: (name: String, labels: [String: String], value: Double)) -> (Int, Double) {
            if sample.name.hasSuffix("_bucket") { return (0, sample.labels["le"].flatMap(bound) ?? .infinity) }
            if sample.name == family + "_count" { return (1, 0) }
            if sample.name == family + "_sum" { return (2, 0) }
            return (3, 0)
        }
        return samples.sorted { rank($0) < rank($1) }
    }

    private static func bound(_ text: String) -> Double? { text == "+Inf" ? .infinity : Double(text) }

    static func renderLabels(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func seconds(_ milliseconds: Int64) -> String {
        String(format: "%.3f", Double(milliseconds) / 1000)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
