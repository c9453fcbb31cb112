import EventflowCore

/// Writes the events of a request as NDJSON: deterministic per event index, so a re-sent
/// request carries the same ids and fields.
public struct EventFactory: Sendable {
    public let runID: String
    let lateFraction: Double
    let lateMaxDelaySeconds: Double
    /// Filler making frames about 2 KB, as the unique-users workload's are.
    private let frameFiller = String(repeating: "f", count: 1_900)

    public init(runID: String, lateFraction: Double, lateMaxDelaySeconds: Double) {
        self.runID = runID
        self.lateFraction = lateFraction
        self.lateMaxDelaySeconds = lateMaxDelaySeconds
    }

    /// The id of event `index`: `<run>-<index>`.
    public func id(_ index: Int) -> String { "\(runID)-\(index)" }

    /// The event index of an id this run made, nil for any other id.
    public func index(of id: Substring) -> Int? {
        guard id.hasPrefix(runID), id.dropFirst(runID.count).first == "-" else { return nil }
        return Int(id.dropFirst(runID.count + 1))
    }

    /// The NDJSON body of `count` events of `stream` from `first`, stamped with `nowSeconds`.
    public func body(stream: String, first: Int, count: Int, nowSeconds: Double) -> String {
        var body = ""
        body.reserveCapacity(count * (stream == "frames" ? 2_100 : 200))
        for index in first..<(first + count) {
            body += event(stream: stream, index: index, nowSeconds: nowSeconds)
            body += "\n"
        }
        return body
    }

    func event(stream: String, index: Int, nowSeconds: Double) -> String {
        var random = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        let id = self.id(index)
        let now = Int(nowSeconds)
        switch stream {
        case "events":
            return #"{"id":"\#(id)","name":"load","timestamp":\#(now),"body":{"user":"u\#(random.next() % 100_000)","n":\#(index)}}"#
        case "frames":
            let late = random.unit() < lateFraction ? Int(random.unit() * lateMaxDelaySeconds) : 0
            let uid = String(random.next() % 50_000 + 0x1_0000_0000_0000, radix: 16).padding(toLength: 19, withPad: "0", startingAt: 0)
            return #"{"id":"\#(id)","uid":"\#(uid)","ts":\#(now - late),"data":{"uid":1,"ts":"nested","filler":"\#(frameFiller)"}}"#
        case "accounts":
            let account = random.next() % 1_000
            return #"{"id":"acct-\#(runID)-\#(account)","accountType":"type\#(account % 5)","tokens":\#(random.next() % 1_000),"callbackTimeMs":\#(random.next() % 5_000),"version":\#(index),"data":{"event":"\#(id)"}}"#
        case "domains":
            let outcome = random.unit() < 0.05 ? "bounced" : "delivered"
            return #"{"id":"\#(id)","domain":"d\#(random.next() % 10_000).example.com","type":"\#(outcome)"}"#
        case "logs":
            let severities = ["debug", "info", "info", "info", "warn", "error", "fatal"]
            let severity = severities[Int(random.next() % UInt64(severities.count))]
            return #"{"id":"\#(id)","service_name":"svc\#(random.next() % 20)","payload":"request handled in \#(random.next() % 500) ms","severity":"\#(severity)","timestamp":\#(now)}"#
        default:
            return #"{"id":"\#(id)"}"#
        }
    }
}
