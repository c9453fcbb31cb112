import EventflowCore

/// Strings built from the pieces hostile input is made of (signs, exponents, infinities,
/// units, control characters, comparison operators), seeded so a failure repeats: for
/// property tests of the parsers that read flags, config values, queries and peers' headers.
public func hostileTexts(count: Int, seed: UInt64) -> [String] {
    let pieces = [
        "", " ", "-", "+", "0", "1", "9", ".", "e", "E", "inf", "nan", "infinity", "1e19", "1e308", "99999999999999999999", "0x10",
        "ms", "s", "m", "h", "d", "\u{0}", "\u{1}", "é", "1_000", "=", "<", ">", "==", "<=", "!=",
    ]
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        (0..<Int(random.next() % 5)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
    }
}
