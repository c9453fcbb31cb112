import Foundation

/// A self-contained HTML page of a run: verdict, thresholds, figures and SVG charts,
/// with no script and nothing fetched from the network.
public struct HTMLReport {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]

        public init(name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    public struct Chart {
        public var title: String
        public var unit: String
        public var series: [Series]

        public init(title: String, unit: String, series: [Series]) {
            self.title = title
            self.unit = unit
            self.series = series
        }
    }

    public var title: String
    public var passed: Bool
    public var subtitle: String
    public var thresholds: [ThresholdResult]
    public var figures: [(name: String, value: String)]
    public var charts: [Chart]

    public init(title: String, passed: Bool, subtitle: String, thresholds: [ThresholdResult], figures: [(name: String, value: String)], charts: [Chart]) {
        self.title = title
        self.passed = passed
        self.subtitle = subtitle
        self.thresholds = thresholds
        self.figures = figures
        self.charts = charts
    }

    public func write(to directory: String) throws {
        try html.write(toFile: URL(fileURLWithPath: directory).appendingPathComponent("report.html").path, atomically: true, encoding: .utf8)
    }

    public var html: String {
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #1d1d1f; max-width: 1100px; }
            h1 { margin: 0 0 4px; font-size: 22px; } .sub { color: #666; margin-bottom: 16px; }
            .verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; color: #fff; font-weight: 600; margin-bottom: 16px; }
            .pass { background: #1a7f37; } .fail { background: #cf222e; }
            table { border-collapse: collapse; margin: 8px 24px 16px 0; display: inline-table; vertical-align: top; }
            th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eee; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; } .warn { color: #9a6700; font-weight: 600; }
            .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
            figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 8px; } figcaption { font-weight: 600; margin-bottom: 4px; }
            </style></head><body>
            <h1>\(escape(title))</h1><div class="sub">\(escape(subtitle))</div>
            <div class="verdict \(passed ? "pass" : "fail")">\(passed ? "PASS" : "FAIL")</div>
            <div><table><tr><th>check</th><th>threshold</th><th>value</th><th>result</th></tr>
            """
        for threshold in thresholds {
            page += "<tr><td>\(escape(threshold.figure))</td><td>\(escape(threshold.rule))</td><td class=\"num\">\(threshold.value.map(Self.number) ?? "n/a")</td>"
            page += "<td class=\"\(threshold.passed ? "ok" : threshold.reportOnly ? "warn" : "bad")\">\(threshold.resultText)</td></tr>\n"
        }
        page += "</table><table><tr><th>figure</th><th>value</th></tr>\n"
        for figure in figures {
            page += "<tr><td>\(escape(figure.name))</td><td class=\"num\">\(escape(figure.value))</td></tr>\n"
        }
        page += "</table></div>\n<div class=\"charts\">\n"
        for chart in charts {
            page += "<figure><figcaption>\(escape(chart.title))</figcaption>\(svg(chart))</figure>\n"
        }
        return page + "</div></body></html>\n"
    }

    /// A line chart: x in seconds since the start, y in the chart's unit.
    func svg(_ chart: Chart) -> String {
        let width = 520.0
        let height = 240.0
        let left = 64.0
        let right = 12.0
        let top = 12.0
        let bottom = 48.0
        let points = chart.series.flatMap(\.points)
        let maxX = max(1, points.map(\.x).max() ?? 1)
        let maxY = Self.niceCeiling(max(points.map(\.y).max() ?? 1, 1e-9))
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func x(_ value: Double) -> Double { left + value / maxX * plotWidth }
        func y(_ value: Double) -> Double { top + plotHeight - value / maxY * plotHeight }
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(Int(width)) \#(Int(height))" width="100%" role="img" aria-label="\#(escape(chart.title))">"#
        svg += #"<rect x="\#(left)" y="\#(top)" width="\#(plotWidth)" height="\#(plotHeight)" fill="rgb(250,250,250)" stroke="rgb(204,204,204)"/>"#
        for step in 0...4 {
            let value = maxY * Double(step) / 4
            svg += #"<line x1="\#(left)" x2="\#(left + plotWidth)" y1="\#(y(value))" y2="\#(y(value))" stroke="rgb(229,229,229)"/>"#
            svg += #"<text x="\#(left - 6)" y="\#(y(value) + 4)" font-size="11" text-anchor="end" fill="rgb(85,85,85)">\#(Self.number(value))</text>"#
            let seconds = maxX * Double(step) / 4
            svg += #"<text x="\#(x(seconds))" y="\#(top + plotHeight + 16)" font-size="11" text-anchor="middle" fill="rgb(85,85,85)">\#(Self.number(seconds)) s</text>"#
        }
        svg += #"<text x="14" y="\#(top + plotHeight / 2)" font-size="11" fill="rgb(85,85,85)" transform="rotate(-90 14 \#(top + plotHeight / 2))" text-anchor="middle">\#(escape(chart.unit))</text>"#
        for (index, series) in chart.series.enumerated() where !series.points.isEmpty {
            let path = series.points.map { "\(String(format: "%.1f", x($0.x))),\(String(format: "%.1f", y($0.y)))" }.joined(separator: " ")
            svg += #"<polyline fill="none" stroke="\#(series.color)" stroke-width="1.8" points="\#(path)"/>"#
            let legendX = left + Double(index) * 170
            svg += #"<rect x="\#(legendX)" y="\#(height - 14)" width="12" height="3" fill="\#(series.color)"/>"#
            svg += #"<text x="\#(legendX + 16)" y="\#(height - 9)" font-size="11" fill="rgb(51,51,51)">\#(escape(series.name))</text>"#
        }
        return svg + "</svg>"
    }

    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where value <= factor * magnitude { return factor * magnitude }
        return 10 * magnitude
    }

    static func number(_ value: Double) -> String {
        if abs(value) >= 1_000_000 { return String(format: "%.1fM", value / 1_000_000) }
        if abs(value) >= 10_000 { return String(format: "%.0fk", value / 1_000) }
        if value == value.rounded() { return String(Int64(value)) }
        return String(format: abs(value) < 1 ? "%.3f" : "%.1f", value)
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
