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

    /// Parses `"<op> <number>"`; nil when the text is not such a rule or the number is not finite.
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace
        guard let comparison = Comparison.allCases.first(where: { trimmed.hasPrefix($0.rawValue) }),
            let bound = Double(String(trimmed.dropFirst(comparison.rawValue.count)).trimmingWhitespace), bound.isFinite
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
