/// A pass/fail rule on a figure, written as in load profiles: `"== 0"`, `"< 50"`,
/// `">= 0.99"`, `"<= 60"`, `"> 0"`, `"!= 0"`.
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case greater = ">"
    }

    public var comparison: Comparison
    public var bound: Double

    /// Parses `"<op> <number>"`; nil when the text is not such a rule.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace
        guard let comparison = Comparison.allCases.first(where: { trimmed.hasPrefix($0.rawValue) }),
            let bound = Double(String(trimmed.dropFirst(comparison.rawValue.count)).trimmingWhitespace)
        else { return nil }
        self.comparison = comparison
        self.bound = bound
    }

    public func passes(_ value: Double) -> Bool {
        switch comparison {
        case .lessOrEqual: value <= bound
        case .greaterOrEqual: value >= bound
        case .equal: value == bound
        case .notEqual: value != bound
        case .less: value < bound
        case .greater: value > bound
        }
    }

    public var description: String {
        let number = bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
        return "\(comparison.rawValue) \(number)"
    }
}

/// Parses durations as load profiles write them: `500ms`, `10s`, `2m`, `1h`, `1d` (a bare number is seconds).
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let trimmed = String(text.trimmingWhitespace)
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0)] where trimmed.hasSuffix(suffix) {
            return Double(trimmed.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(trimmed)
    }
}
