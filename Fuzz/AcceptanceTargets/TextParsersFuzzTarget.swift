#if canImport(AcceptanceKit)
import AcceptanceKit
#endif
import EventflowCore

/// Fuzz target: the text parsers that read flags, config values, query parameters, profiles
/// and peers' headers. `make fuzz` runs it under libFuzzer (`Fuzz/Entry`);
/// `FuzzRegressionTests` replays its seed corpus and every crash found.
///
/// The first byte of an input picks the parser; the rest is the text. A crash, or a broken
/// invariant (a `precondition` here), is a finding.
public enum TextParsersFuzzTarget {
    public static func run(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: input.dropFirst()), as: UTF8.self)
        switch first % 5 {
        case 0:
            if let seconds = DurationText.seconds(text) {
                precondition(seconds.isFinite && seconds >= 0 && seconds <= DurationText.maxSeconds, "duration out of range")
                precondition(DurationText.duration(text) != nil, "a duration in range that does not convert")
            }
        case 1:
            if let threshold = Threshold(text) {
                precondition(threshold.bound.isFinite, "a threshold with an infinite bound")
                precondition(Threshold(threshold.description) != nil, "a threshold that does not print back")
            }
        case 2:
            if let retryAfter = RetryAfter.parse(text, limitSeconds: 3600) {
                precondition(retryAfter.seconds >= 0 && retryAfter.seconds <= 3600, "Retry-After beyond its limit")
            }
            if let number = Double(text) {
                let duration = Duration.checkedSeconds(number)
                precondition(duration >= .zero, "a negative checked duration")
                _ = (duration.milliseconds, duration.nanoseconds)
            }
        case 3:
            if DomainName.isValid(text) { precondition(text.utf8.count <= 253, "a domain name over 253 bytes") }
        default:
            precondition(UserKey(text).uid == text, "a user id that does not round-trip")
            // A string quoted for JSON reads back as the same string.
            let object = Array("{\"k\":\(JSONString.quoted(text))}".utf8)
            object.withUnsafeBytes { bytes in
                var scanner = JSONScanner(bytes)
                var members: [JSONMember] = []
                guard (try? scanner.scanObject(into: &members)) != nil, let member = members.first else {
                    preconditionFailure("a quoted string that is not valid JSON")
                }
                let decoded = JSONValueDecoding.string(bytes, member.value, hasEscapes: member.valueHasEscapesOrFraction)
                precondition(decoded == text, "quoting does not round-trip")
            }
        }
    }
}
