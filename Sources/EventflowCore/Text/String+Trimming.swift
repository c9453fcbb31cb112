extension String {
    /// The text without leading and trailing whitespace (as `Character.isWhitespace` has
    /// it), without Foundation: how flags, config values and peers' headers are read.
    public var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
